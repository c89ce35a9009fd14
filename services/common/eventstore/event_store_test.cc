#include "services/common/eventstore/event_store.h"

#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "services/common/status/errors.h"
#include "services/common/testing/test_support.h"
#include "wangge/common/v1/envelope.pb.h"

namespace wangge::eventstore {
namespace {

using wangge::common::v1::Position;
using wangge::common::v1::StoredEvent;

// Any small payload will do; Position is a real message with fields.
NewEvent Event(const std::string& tag) {
  Position p;
  p.set_service(tag);
  return MakeEvent(p);
}

StreamAppend To(const std::string& stream, int64_t expected,
                std::vector<NewEvent> events) {
  StreamAppend sa;
  sa.stream_id = stream;
  sa.expected_version = expected;
  sa.events = std::move(events);
  return sa;
}

AppendRequest Request(std::vector<StreamAppend> streams,
                      const std::string& command_id = "") {
  AppendRequest r;
  r.command_id = command_id;
  r.actor.set_subject("tester");
  r.streams = std::move(streams);
  return r;
}

// Verifies every partition (each must pass) against `key`; the events and
// the checkpoints among them, over all partitions.
std::pair<uint64_t, uint64_t> VerifyEveryPartition(
    const EventStore& store, const crypto::Verifier& key) {
  uint64_t events = 0, checkpoints = 0;
  for (int p = 0; p < store.partitions(); ++p) {
    VerifyReport r = store.Verify(p, &key);
    EXPECT_TRUE(r.ok) << p << ": " << r.reason << " at "
                      << r.first_bad_sequence;
    events += r.events;
    checkpoints += r.checkpoints;
  }
  return {events, checkpoints};
}

class EventStoreTest : public ::testing::Test {
 protected:
  Options MakeOptions(const std::string& dir) {
    Options o;
    o.service = "intake";
    o.path = dir;
    o.partitions = 4;
    return o;
  }
  std::unique_ptr<EventStore> Open(Options o) {
    auto store = EventStore::Open(std::move(o));
    EXPECT_TRUE(store.ok()) << store.status();
    return std::move(*store);
  }
  std::string dir_ = testing::MakeTempDir("store");
};

TEST_F(EventStoreTest, AppendsReadsAndReportsPositions) {
  auto store = Open(MakeOptions(dir_));
  auto r = store->Append(
      Request({To("case/C1", kNoStream, {Event("a"), Event("b")})}));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->positions.size(), 1u);
  const uint32_t p = store->PartitionOf("case/C1");
  EXPECT_EQ(r->positions[0].partition(), p);
  EXPECT_EQ(r->positions[0].sequence(), 2u);
  EXPECT_EQ(r->positions[0].service(), "intake");
  EXPECT_EQ(r->stream_versions[0].version(), 2u);
  EXPECT_EQ(*store->StreamVersion("case/C1"), 2u);
  EXPECT_EQ(*store->StreamVersion("case/C"), 0u);
  EXPECT_EQ(store->Head(p), 2u);

  auto events = store->ReadStream("case/C1");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  auto env = store->Decode((*events)[1]);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->stream_version(), 2u);
  EXPECT_EQ(env->sequence(), 2u);
  EXPECT_EQ(env->event_type(), "wangge.common.v1.Position");
  EXPECT_EQ(env->actor().subject(), "tester");
  EXPECT_EQ(env->source_service(), "intake");
  EXPECT_EQ(store->ReadStream("case/C1", 2)->size(), 1u);
  EXPECT_EQ(store->ReadPartition(p, 1, 10)->size(), 2u);
  EXPECT_EQ(store->ReadPartition(p, 2, 10)->size(), 1u);
  // What RocksDB holds, for the metrics: the unflushed events at least.
  auto memory = store->MemoryUsage();
  EXPECT_GT(memory["memtables"], 0u);
  EXPECT_EQ(memory.count("table_readers"), 1u);
  EXPECT_EQ(memory.count("block_cache"), 1u);
}

// A store written before the log was split by partition keeps every
// partition's events in one "events" column family: it still opens, reads,
// verifies and appends there, and no per-partition family appears.
TEST_F(EventStoreTest, StoreWithTheSharedLogFamilyStillWorks) {
  std::vector<std::vector<StoredEvent>> before(4);
  {
    auto store = Open(MakeOptions(dir_));
    for (int i = 0; i < 30; ++i) {
      ASSERT_TRUE(store
                      ->Append(Request({To(absl::StrCat("case/", i % 7),
                                           kAnyVersion, {Event("x")})}))
                      .ok());
    }
    for (uint32_t p = 0; p < 4; ++p)
      before[p] = *store->ReadPartition(p, 1, SIZE_MAX);
  }
  {  // Rewrite the layout as the old store had it.
    std::vector<std::string> names;
    ASSERT_TRUE(
        rocksdb::DB::ListColumnFamilies(rocksdb::Options(), dir_, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& n : names) families.push_back({n, {}});
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(rocksdb::Options(), dir_, families, &handles, &db)
            .ok());
    rocksdb::ColumnFamilyHandle* shared = nullptr;
    ASSERT_TRUE(db->CreateColumnFamily({}, "events", &shared).ok());
    int moved = 0;
    for (auto* h : handles) {
      if (!absl::StartsWith(h->GetName(), "events.")) continue;
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, h));
      for (it->SeekToFirst(); it->Valid(); it->Next(), ++moved)
        ASSERT_TRUE(db->Put({}, shared, it->key(), it->value()).ok());
      ASSERT_TRUE(db->DropColumnFamily(h).ok());
    }
    EXPECT_EQ(moved, 30);
    handles.push_back(shared);
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  {
    auto store = Open(MakeOptions(dir_));
    for (uint32_t p = 0; p < 4; ++p) {
      auto read = store->ReadPartition(p, 1, SIZE_MAX);
      ASSERT_TRUE(read.ok());
      ASSERT_EQ(read->size(), before[p].size()) << p;
      for (size_t i = 0; i < read->size(); ++i)
        EXPECT_EQ((*read)[i].record(), before[p][i].record());
      EXPECT_TRUE(store->Verify(p).ok) << store->Verify(p).reason;
    }
    auto appended =
        store->Append(Request({To("case/3", kAnyVersion, {Event("y")})}));
    ASSERT_TRUE(appended.ok()) << appended.status();
    auto stream = store->ReadStream("case/3", 1, SIZE_MAX);
    ASSERT_TRUE(stream.ok());
    EXPECT_EQ(stream->size(), 5u);  // four before (3, 10, 17, 24), one now
  }
  std::vector<std::string> names;
  ASSERT_TRUE(
      rocksdb::DB::ListColumnFamilies(rocksdb::Options(), dir_, &names).ok());
  for (const auto& n : names) EXPECT_FALSE(absl::StartsWith(n, "events.")) << n;
}

TEST_F(EventStoreTest, BadRequestsAreRefusedAndWriteNothing) {
  auto store = Open(MakeOptions(dir_));
  EXPECT_EQ(store->Append(Request({})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Append(Request({To("", kAnyVersion, {Event("x")})}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store
                ->Append(Request({To("a", kAnyVersion, {Event("x")}),
                                  To("a", kAnyVersion, {Event("y")})}))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store->Append(Request({To("checkpoint/0", kAnyVersion, {Event("x")})}))
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  for (uint64_t h : store->Heads()) EXPECT_EQ(h, 0u);
}

TEST_F(EventStoreTest, ConcurrentAppendsToOneStreamExactlyOneWinsEachVersion) {
  auto store = Open(MakeOptions(dir_));
  constexpr uint64_t kTarget = 200;
  std::mutex mu;
  std::multiset<uint64_t> won;
  std::atomic<int> aborted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      while (true) {
        uint64_t v = *store->StreamVersion("case/hot");
        if (v >= kTarget) return;
        auto r = store->Append(
            Request({To("case/hot", static_cast<int64_t>(v), {Event("e")})}));
        if (r.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          won.insert(r->stream_versions[0].version());
        } else if (r.status().code() == absl::StatusCode::kAborted) {
          EXPECT_NE(r.status().message().find("case/hot"), std::string::npos);
          ++aborted;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other, 0);
  EXPECT_EQ(*store->StreamVersion("case/hot"), kTarget);
  ASSERT_EQ(won.size(), kTarget);
  uint64_t expect = 1;
  for (uint64_t v : won) EXPECT_EQ(v, expect++);  // each version exactly once
  EXPECT_EQ(store->ReadStream("case/hot")->size(), kTarget);
}

TEST_F(EventStoreTest, ConflictOnOneStreamWritesNothingOnTheOthers) {
  auto store = Open(MakeOptions(dir_));
  // Two streams in different partitions.
  std::string a = "case/A", b;
  for (int i = 0; b.empty(); ++i) {
    std::string s = absl::StrCat("task/B", i);
    if (store->PartitionOf(s) != store->PartitionOf(a)) b = s;
  }
  ASSERT_TRUE(store->Append(Request({To(b, kNoStream, {Event("b1")})})).ok());
  auto heads = store->Heads();
  auto r = store->Append(Request({To(a, kNoStream, {Event("a1"), Event("a2")}),
                                  To(b, kNoStream, {Event("b2")})}));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(r.status().message().find(b), std::string::npos);
  EXPECT_EQ(*store->StreamVersion(a), 0u);
  EXPECT_EQ(store->Heads(), heads);
  // The same append with the right expectation lands on both.
  auto ok = store->Append(
      Request({To(a, kNoStream, {Event("a1")}), To(b, 1, {Event("b2")})}));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->positions.size(), 2u);
  EXPECT_EQ(*store->StreamVersion(b), 2u);
}

// Under concurrent appends, each writing one event and one row, every
// digest taken "at a moment" counts exactly as many rows as its heads count
// events: rows and heads come from the same instant, and the heads are
// durable by the time they are returned.
TEST_F(EventStoreTest, DigestsAtOneMomentMatchTheirHeadsUnderLoad) {
  auto store = Open(MakeOptions(dir_));
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int n = 0; !stop; ++n) {
        AppendRequest r = Request(
            {To(absl::StrCat("case/", w, "-", n), kNoStream, {Event("x")})});
        r.projection_writes.push_back(
            {"cases", absl::StrCat(w, "-", n), "row"});
        ASSERT_TRUE(store->Append(r).ok());
      }
    });
  }
  int checked = 0;
  for (; checked < 30; ++checked) {
    auto at =
        store->ProjectionDigestsAt({"cases"}, absl::Now() + absl::Seconds(10));
    ASSERT_TRUE(at.ok()) << at.status();
    uint64_t events = 0;
    for (uint64_t h : at->heads) events += h;
    ASSERT_EQ(at->digests.size(), 1u);
    EXPECT_EQ(at->digests[0].second, events) << "digest " << checked;
    const auto durable = store->Heads();
    for (size_t p = 0; p < durable.size(); ++p) {
      EXPECT_GE(durable[p], at->heads[p]);
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  stop = true;
  for (auto& t : writers) t.join();
  // Idle, it is the plain digest.
  auto at = store->ProjectionDigestsAt({"cases"}, absl::Now());
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->digests[0], *store->ProjectionDigest("cases"));
}

// A failed WAL fsync: what it covered may not be on disk, and a later fsync
// would report success without it. The store acknowledges nothing more: not
// the append, not its retry, not a command lookup; its heads never move.
TEST_F(EventStoreTest, AFailedFsyncAcknowledgesNothingMore) {
  Options o = MakeOptions(dir_);
  std::atomic<int> syncs{0};
  o.sync_wal_for_test = [&] {
    return ++syncs == 1 ? rocksdb::Status::IOError("injected: EIO")
                        : rocksdb::Status::OK();
  };
  auto store = Open(o);
  AppendRequest command =
      Request({To("case/F", kNoStream, {Event("x")})}, "cmd-f");
  auto first = store->Append(command);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(store->fsync_failed());
  auto retry = store->Append(command);
  EXPECT_EQ(retry.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->CommandResult("cmd-f").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->Append(Request({To("case/G", kNoStream, {Event("y")})}))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  for (uint64_t h : store->Heads()) EXPECT_EQ(h, 0u);
  EXPECT_EQ(syncs, 1);  // never fsync'd again
}

// A retry that finds its command's record while the first write's fsync is
// still running waits for that fsync, as the first caller does.
TEST_F(EventStoreTest, ACommandLookupWaitsForTheFirstWritesFsync) {
  Options o = MakeOptions(dir_);
  absl::Notification in_fsync, release;
  std::atomic<int> syncs{0};
  o.sync_wal_for_test = [&] {
    if (++syncs == 1) {
      in_fsync.Notify();
      release.WaitForNotification();
    }
    return rocksdb::Status::OK();
  };
  auto store = Open(o);
  absl::StatusOr<AppendResult> first;
  std::thread writer([&] {
    first = store->Append(
        Request({To("case/W", kNoStream, {Event("x")})}, "cmd-w"));
  });
  in_fsync.WaitForNotification();  // written, not yet durable
  std::atomic<bool> answered{false};
  absl::StatusOr<std::optional<AppendResult>> looked_up;
  std::thread retry([&] {
    looked_up = store->CommandResult("cmd-w");
    answered = true;
  });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(answered);
  release.Notify();
  writer.join();
  retry.join();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(looked_up.ok() && looked_up->has_value());
  EXPECT_EQ((*looked_up)->positions[0].sequence(),
            first->positions[0].sequence());
}

TEST_F(EventStoreTest, RetriedCommandReturnsFirstResultAndWritesNothing) {
  auto store = Open(MakeOptions(dir_));
  AppendRequest command =
      Request({To("case/R", kNoStream, {Event("x")})}, "cmd-1");
  command.command_response = "the first answer";
  auto first = store->Append(command);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->duplicate);
  const auto heads = store->Heads();
  // A retry, even one whose expectation would now fail, returns the first,
  // with the answer the service kept with it.
  command.command_response = "another answer";
  auto retry = store->Append(command);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_TRUE(retry->duplicate);
  EXPECT_EQ(retry->positions[0].sequence(), first->positions[0].sequence());
  EXPECT_EQ(retry->command_response, "the first answer");
  EXPECT_EQ(store->Heads(), heads);
  // And after a reopen, through CommandResult.
  store.reset();
  store = Open(MakeOptions(dir_));
  auto recorded = store->CommandResult("cmd-1");
  ASSERT_TRUE(recorded.ok() && recorded->has_value());
  EXPECT_EQ((*recorded)->command_response, "the first answer");
  EXPECT_EQ((*recorded)->positions[0].sequence(),
            first->positions[0].sequence());
  // Concurrent retries of a new command land once.
  std::vector<std::thread> threads;
  std::atomic<int> written{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = store->Append(
          Request({To("case/S", kAnyVersion, {Event("y")})}, "cmd-2"));
      if (r.ok() && !r->duplicate) ++written;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(written, 1);
  EXPECT_EQ(*store->StreamVersion("case/S"), 1u);
}

TEST_F(EventStoreTest, ConsumedPositionsApplyOnceAndInOrder) {
  auto store = Open(MakeOptions(dir_));
  auto apply = [&](uint64_t seq) {
    AppendRequest r;
    r.consumed.push_back({"supervision", 2, seq});
    r.projection_writes.push_back({"cases", absl::StrCat("k", seq), "v"});
    return store->Append(r);
  };
  ASSERT_TRUE(apply(1).ok());
  auto dup = apply(1);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(apply(3).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(apply(2).ok());
  EXPECT_EQ(store->ConsumedPosition("supervision", 2), 2u);
  EXPECT_EQ(store->ProjectionDigest("cases")->second, 2u);
  Position p;
  p.set_service("supervision");
  p.set_partition(2);
  p.set_sequence(2);
  EXPECT_TRUE(store->WaitForPositions({p}, absl::Now()).ok());
  p.set_sequence(3);
  EXPECT_EQ(
      store->WaitForPositions({p}, absl::Now() + absl::Milliseconds(20)).code(),
      absl::StatusCode::kDeadlineExceeded);
  // A position that could never be applied here is refused at once, not
  // held to the deadline: a service not followed, a partition beyond the
  // count.
  const absl::Time later = absl::Now() + absl::Seconds(30);
  Position foreign;
  foreign.set_service("dispatch");
  foreign.set_sequence(1);
  absl::Status refused = store->WaitForPositions({foreign}, later);
  EXPECT_EQ(status::ViolatedField(refused), "min_positions") << refused;
  Position beyond = p;
  beyond.set_partition(99);
  beyond.set_service(store->service());
  EXPECT_EQ(status::ViolatedField(store->WaitForPositions({beyond}, later)),
            "min_positions");
  Position future;  // own, never written
  future.set_service(store->service());
  future.set_sequence(1000000);
  EXPECT_EQ(status::ViolatedField(store->WaitForPositions({future}, later)),
            "min_positions");
  std::vector<Position> many(65, p);
  EXPECT_EQ(status::ViolatedField(store->WaitForPositions(many, later)),
            "min_positions");
  EXPECT_LT(absl::Now(), later - absl::Seconds(20));
  // Followed (a consumer exists), it is waited for.
  store->FollowSource("dispatch");
  EXPECT_EQ(
      store->WaitForPositions({foreign}, absl::Now() + absl::Milliseconds(20))
          .code(),
      absl::StatusCode::kDeadlineExceeded);
}

TEST_F(EventStoreTest, LiveTailWakesOnAppend) {
  auto store = Open(MakeOptions(dir_));
  const uint32_t p = store->PartitionOf("case/T");
  std::atomic<uint64_t> seen{0};
  absl::Notification waiting;
  absl::Time woke;
  std::thread tail([&] {
    waiting.Notify();
    seen = store->WaitForAppend(p, 0, absl::Now() + absl::Seconds(30));
    woke = absl::Now();
  });
  waiting.WaitForNotification();
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(seen, 0u);
  const absl::Time appended = absl::Now();
  ASSERT_TRUE(
      store->Append(Request({To("case/T", kAnyVersion, {Event("x")})})).ok());
  tail.join();
  EXPECT_EQ(seen, 1u);
  // Woken by the append, not by its 30 s deadline.
  EXPECT_LT(woke - appended, absl::Seconds(5));
}

TEST_F(EventStoreTest, UpcasterLiftsOldPayloadsWithoutTouchingTheRecord) {
  auto store = Open(MakeOptions(dir_));
  Position v1;
  v1.set_service("old");
  ASSERT_TRUE(
      store->Append(Request({To("case/U", kAnyVersion, {MakeEvent(v1, 1)})}))
          .ok());
  const StoredEvent before = (*store->ReadStream("case/U"))[0];
  store->RegisterUpcaster(
      "wangge.common.v1.Position", 1,
      [](const std::string& payload) -> absl::StatusOr<std::string> {
        Position p;
        p.ParseFromString(payload);
        p.set_service(p.service() + "-v2");
        return p.SerializeAsString();
      });
  const StoredEvent after = (*store->ReadStream("case/U"))[0];
  EXPECT_EQ(after.record(), before.record());
  auto env = store->Decode(after);
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->schema_version(), 2u);
  Position lifted;
  lifted.ParseFromString(env->payload().value());
  EXPECT_EQ(lifted.service(), "old-v2");
}

TEST_F(EventStoreTest, StateDigestsMatchForSameRowsAndDifferOtherwise) {
  auto a = Open(MakeOptions(dir_ + "/a"));
  Options ob = MakeOptions(dir_ + "/b");
  auto b = Open(ob);
  for (int i = 0; i < 100; ++i) {
    AppendRequest r;
    r.projection_writes.push_back(
        {"cases", absl::StrCat("C", i), absl::StrCat("open-", i)});
    ASSERT_TRUE(a->Append(r).ok());
    ASSERT_TRUE(b->Append(r).ok());
  }
  EXPECT_EQ(*a->ProjectionDigest("cases"), *b->ProjectionDigest("cases"));
  AppendRequest change;
  change.projection_writes.push_back({"cases", "C7", "closed"});
  ASSERT_TRUE(b->Append(change).ok());
  EXPECT_NE(a->ProjectionDigest("cases")->first,
            b->ProjectionDigest("cases")->first);
  EXPECT_EQ(b->ProjectionDigest("cases")->second, 100u);
}

TEST_F(EventStoreTest, ReopenRestoresHeadsChainAndTree) {
  Options o = MakeOptions(dir_);
  o.signer =
      *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_ED25519, "k1");
  o.checkpoint_every_events = 7;
  auto verifier = crypto::Verifier::FromPem(o.signer->PublicKeyPem());
  {
    auto store = Open(o);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(store
                      ->Append(Request({To(absl::StrCat("case/", i % 9),
                                           kAnyVersion, {Event("x")})}))
                      .ok());
    }
  }
  auto store = Open(o);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store
                    ->Append(Request({To(absl::StrCat("case/", i % 9),
                                         kAnyVersion, {Event("y")})}))
                    .ok());
  }
  const auto [events, checkpoints] = VerifyEveryPartition(*store, **verifier);
  EXPECT_GT(checkpoints, 5u);
  EXPECT_EQ(events, 100u + checkpoints);
  o.partitions = 8;
  store.reset();
  EXPECT_EQ(EventStore::Open(o).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(EventStoreTest, ProofsFromTheStoreVerifyAgainstSignedCheckpoints) {
  Options o = MakeOptions(dir_);
  o.partitions = 1;
  o.signer =
      *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_SM2, "sm2-1");
  o.hash_algorithm = common::v1::HASH_ALGORITHM_SM3;
  o.checkpoint_every_events = 1000000;
  auto store = Open(o);
  auto verifier = *crypto::Verifier::FromPem(o.signer->PublicKeyPem());
  for (int i = 0; i < 37; ++i) {
    ASSERT_TRUE(store
                    ->Append(Request(
                        {To(absl::StrCat("s", i), kAnyVersion, {Event("x")})}))
                    .ok());
  }
  ASSERT_TRUE(store->CheckpointNow().ok());
  auto old = store->GetCheckpoint(0);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->tree_size(), 37u);
  EXPECT_TRUE(crypto::VerifyCheckpoint(*verifier, *old).ok());
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(store
                    ->Append(Request(
                        {To(absl::StrCat("t", i), kAnyVersion, {Event("x")})}))
                    .ok());
  }
  ASSERT_TRUE(store->CheckpointNow().ok());
  auto now = *store->GetCheckpoint(0);
  EXPECT_EQ(now.tree_size(), 98u);  // 37 + the first checkpoint + 60
  EXPECT_EQ(store->GetCheckpoint(0, 37)->merkle_root(), old->merkle_root());

  const auto events = *store->ReadPartition(0, 1, 1000);
  for (uint64_t i : {0, 5, 36, 37, 97}) {
    auto proof = store->InclusionProof(0, i, now.tree_size());
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(merkle::VerifyInclusion(store->hasher(), i, now.tree_size(),
                                        events[i].leaf_hash(), *proof,
                                        now.merkle_root())
                    .ok())
        << i;
  }
  auto consistency =
      store->ConsistencyProof(0, old->tree_size(), now.tree_size());
  ASSERT_TRUE(consistency.ok());
  EXPECT_TRUE(merkle::VerifyConsistency(store->hasher(), old->tree_size(),
                                        now.tree_size(), old->merkle_root(),
                                        now.merkle_root(), *consistency)
                  .ok());
  EXPECT_EQ(store->InclusionProof(0, 5, 10000).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST_F(EventStoreTest, SyncModeFsyncsPerGroupAndAsyncNever) {
  {
    Options o = MakeOptions(dir_ + "/sync");
    auto store = Open(o);
    const uint64_t at_open = store->wal_syncs();
    for (int i = 0; i < 20; ++i) {
      auto r = store->Append(Request({To("s", kAnyVersion, {Event("x")})}));
      ASSERT_TRUE(r.ok());
      // Acknowledged only once durable, and then published.
      EXPECT_EQ(store->wal_syncs() - at_open, static_cast<uint64_t>(i + 1));
      EXPECT_EQ(store->Head(r->positions[0].partition()),
                r->positions[0].sequence());
    }
    EXPECT_EQ(store->group_commits(), 20u);
  }
  Options o = MakeOptions(dir_ + "/async");
  o.durability = Durability::kAsync;
  auto store = Open(o);
  // Creating a store syncs its partition count once; appends never sync.
  const uint64_t at_open = store->wal_syncs();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        store->Append(Request({To("s", kAnyVersion, {Event("x")})})).ok());
  }
  EXPECT_EQ(store->wal_syncs(), at_open);
  EXPECT_EQ(store->group_commits(), 20u);
}

TEST_F(EventStoreTest, DeferredFsyncWritesAreReadAtOnceAndPublishedWhenSynced) {
  const std::string path = dir_ + "/deferred";
  constexpr int kEvents = 300;
  {
    auto store = Open(MakeOptions(path));
    const uint32_t p = store->PartitionOf("case/C1");
    int returned_before_published = 0;
    for (int i = 0; i < kEvents; ++i) {
      // A consumer's shape: the next decision reads the last one's effects.
      AppendRequest r = Request({To("case/C1", i, {Event("x")})});
      r.consumed.push_back({"source", 0, static_cast<uint64_t>(i + 1)});
      r.projection_writes.push_back({"cases", "C1", absl::StrCat(i + 1)});
      r.defer_fsync = true;
      auto result = store->Append(std::move(r));
      ASSERT_TRUE(result.ok()) << i << ": " << result.status();
      if (store->Head(p) < result->positions[0].sequence()) {
        ++returned_before_published;
      }
      EXPECT_EQ(*store->StreamVersion("case/C1"), static_cast<uint64_t>(i + 1));
      EXPECT_EQ(store->ConsumedPosition("source", 0),
                static_cast<uint64_t>(i + 1));
      EXPECT_EQ(**store->GetProjection("cases", "C1"), absl::StrCat(i + 1));
    }
    // Appends do not wait for their fsync (an fsync takes hundreds of
    // microseconds here, returning a few: most return unpublished)...
    EXPECT_GT(returned_before_published, 0);
    // ...and the syncer publishes them all.
    EXPECT_EQ(
        store->WaitForAppend(p, kEvents - 1, absl::Now() + absl::Seconds(10)),
        static_cast<uint64_t>(kEvents));
    auto log = store->ReadPartition(p, 1, 1000);
    ASSERT_TRUE(log.ok());
    EXPECT_EQ(log->size(), static_cast<size_t>(kEvents));
    // A normal append right after deferred ones publishes them with its own.
    AppendRequest deferred = Request({To("case/C2", kNoStream, {Event("d")})});
    deferred.defer_fsync = true;
    ASSERT_TRUE(store->Append(std::move(deferred)).ok());
    auto synced =
        store->Append(Request({To("case/C3", kNoStream, {Event("s")})}));
    ASSERT_TRUE(synced.ok());
    for (const Position& pos : synced->positions) {
      EXPECT_GE(store->Head(pos.partition()), pos.sequence());
    }
    EXPECT_TRUE(store->Verify(p).ok);
  }
  // Closing fsyncs what is left: everything is there after a reopen.
  auto store = Open(MakeOptions(path));
  EXPECT_EQ(*store->StreamVersion("case/C1"), static_cast<uint64_t>(kEvents));
  EXPECT_EQ(*store->StreamVersion("case/C2"), 1u);
  EXPECT_EQ(store->ConsumedPosition("source", 0),
            static_cast<uint64_t>(kEvents));
}

TEST_F(EventStoreTest, ConcurrentWritersShareGroupCommits) {
  auto store = Open(MakeOptions(dir_));
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(store
                        ->Append(Request({To(absl::StrCat("w", t), kAnyVersion,
                                             {Event("x")})}))
                        .ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  uint64_t total = 0;
  for (uint64_t h : store->Heads()) total += h;
  EXPECT_EQ(total, 1600u);
  // Fewer commits than appends: writers waited together.
  EXPECT_LT(store->group_commits(), 1600u);
}

// Appends that need no fsync write their own group when the writer is idle,
// and queue behind it otherwise; with both at once (in `async`, and
// consumer-style deferred appends in `sync`) every append lands exactly once,
// versions stay exclusive, and every chain, tree and checkpoint verifies
// after a reopen.
TEST_F(EventStoreTest, SelfWrittenAndQueuedGroupsInterleaveSafely) {
  for (const Durability durability : {Durability::kAsync, Durability::kSync}) {
    SCOPED_TRACE(durability == Durability::kAsync ? "async" : "sync");
    Options o = MakeOptions(
        dir_ + (durability == Durability::kAsync ? "/async" : "/sync"));
    o.durability = durability;
    o.signer = *crypto::Signer::Generate(
        common::v1::SIGNATURE_ALGORITHM_ED25519, "k1");
    o.checkpoint_every_events = 5;
    auto verifier = crypto::Verifier::FromPem(o.signer->PublicKeyPem());
    std::atomic<int> landed{0}, hot_won{0}, failed{0};
    {
      auto store = Open(o);
      std::vector<std::thread> threads;
      for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < 150; ++i) {
            // Every third append races for the next version of one stream.
            const bool hot = i % 3 == 0;
            const int64_t expected =
                hot ? static_cast<int64_t>(*store->StreamVersion("case/hot"))
                    : kAnyVersion;
            AppendRequest r = Request(
                {To(hot ? "case/hot" : absl::StrCat("case/", t, "-", i % 7),
                    expected, {Event("x")})});
            r.defer_fsync = durability == Durability::kSync && t % 2 == 0;
            auto result = store->Append(std::move(r));
            if (result.ok()) {
              ++landed;
              if (hot) ++hot_won;
            } else if (result.status().code() != absl::StatusCode::kAborted) {
              ++failed;
            }
          }
        });
      }
      for (auto& t : threads) t.join();
      // A lone appender after the burst writes its own groups.
      for (int i = 0; i < 20; ++i) {
        AppendRequest r = Request({To("case/lone", kAnyVersion, {Event("y")})});
        r.defer_fsync = durability == Durability::kSync;
        ASSERT_TRUE(store->Append(std::move(r)).ok());
        ++landed;
      }
      EXPECT_EQ(failed, 0);
      EXPECT_EQ(*store->StreamVersion("case/hot"),
                static_cast<uint64_t>(hot_won.load()));
      EXPECT_EQ(store->ReadStream("case/lone")->size(), 20u);
    }
    auto store = Open(o);
    const auto [events, checkpoints] = VerifyEveryPartition(*store, **verifier);
    EXPECT_GT(checkpoints, 10u);
    EXPECT_EQ(events, static_cast<uint64_t>(landed.load()) + checkpoints);
    EXPECT_EQ(*store->StreamVersion("case/hot"),
              static_cast<uint64_t>(hot_won.load()));
  }
}

// Opens the store's RocksDB directly, below the store, and runs `edit` on
// partition 0's log.
void EditRawLog(const std::string& dir,
                const std::function<void(rocksdb::DB*,
                                         rocksdb::ColumnFamilyHandle*)>& edit) {
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies({}, dir, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const auto& n : names) families.push_back({n, {}});
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open({}, dir, families, &handles, &db).ok());
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "events.0") edit(db, handles[i]);
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

// Tampering below the store: Verify names the first broken position.
class TamperTest : public EventStoreTest {
 protected:
  void SetUp() override {
    Options o = MakeOptions(dir_);
    o.partitions = 1;
    auto store = Open(o);
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(store
                      ->Append(Request({To(absl::StrCat("s", i), kAnyVersion,
                                           {Event("x")})}))
                      .ok());
    }
  }
  // Runs `edit` on the raw events column family, then verifies.
  VerifyReport TamperAndVerify(
      const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>&
          edit) {
    EditRawLog(dir_, edit);
    Options o = MakeOptions(dir_);
    o.partitions = 1;
    return Open(o)->Verify(0);
  }
  static std::string Get(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                         uint64_t seq) {
    std::string v;
    EXPECT_TRUE(db->Get({}, cf, EventKey(0, seq), &v).ok());
    return v;
  }
};

TEST_F(TamperTest, CleanLogVerifies) {
  VerifyReport r =
      TamperAndVerify([](rocksdb::DB*, rocksdb::ColumnFamilyHandle*) {});
  EXPECT_TRUE(r.ok) << r.reason;
  EXPECT_EQ(r.events, 40u);
}

TEST_F(TamperTest, FlippedByteIsFoundAtItsPosition) {
  VerifyReport r =
      TamperAndVerify([](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
        StoredEvent e;
        e.ParseFromString(Get(db, cf, 17));
        std::string record = e.record();
        record[record.size() / 2] ^= 0x01;
        e.set_record(record);
        db->Put({}, cf, EventKey(0, 17), e.SerializeAsString());
      });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence, 17u);
  EXPECT_NE(r.reason.find("leaf hash"), std::string::npos) << r.reason;
}

TEST_F(TamperTest, DeletedEventIsFoundAtItsPosition) {
  VerifyReport r =
      TamperAndVerify([](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
        db->Delete({}, cf, EventKey(0, 23));
      });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence, 23u);
  EXPECT_NE(r.reason.find("missing"), std::string::npos) << r.reason;
}

TEST_F(TamperTest, ReorderedEventsAreFoundAtTheFirstSwap) {
  VerifyReport r =
      TamperAndVerify([](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
        std::string a = Get(db, cf, 30), b = Get(db, cf, 31);
        db->Put({}, cf, EventKey(0, 30), b);
        db->Put({}, cf, EventKey(0, 31), a);
      });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence, 30u);
}

TEST_F(TamperTest, DeletedEventsAfterTheLastCheckpointNeedAnOutsideCopy) {
  // The head is restored from the log itself, so dropping the newest events
  // after the last checkpoint is visible only against a copy kept elsewhere
  // (the audit's saved checkpoints, a peer's log): alone the store stays
  // self-consistent and verifies, with one event fewer.
  VerifyReport r =
      TamperAndVerify([](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
        db->Delete({}, cf, EventKey(0, 40));
      });
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.events, 39u);
}

// An event too large for one Kafka message is refused, with the rest of its
// append: it could never be published, and would hold its partition back.
TEST_F(EventStoreTest, AnEventLargerThanAKafkaMessageIsRefused) {
  auto store = Open(MakeOptions(dir_));
  NewEvent big = Event("x");
  big.payload.assign(kMaxRecordBytes + 1, 'x');
  auto refused = store->Append(Request(
      {To("s-small", kNoStream, {Event("x")}), To("s-big", kNoStream, {big})}));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("s-big"), std::string::npos)
      << refused.status();
  EXPECT_EQ(*store->StreamVersion("s-small"), 0u);
  big.payload.assign(kMaxRecordBytes - 1000, 'x');
  EXPECT_TRUE(store->Append(Request({To("s-big", kNoStream, {big})})).ok());
}

// A signed checkpoint is kept beside the log too: a tail cut below it (the
// checkpoint's own event included) no longer verifies.
TEST_F(EventStoreTest, ATailCutBelowASignedCheckpointIsFound) {
  Options o = MakeOptions(dir_);
  o.partitions = 1;
  o.signer =
      *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_ED25519, "k1");
  {
    auto store = Open(o);
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(store
                      ->Append(Request({To(absl::StrCat("s", i), kAnyVersion,
                                           {Event("x")})}))
                      .ok());
    }
    ASSERT_TRUE(store->CheckpointNow().ok());  // tree of 10, at sequence 11
    for (int i = 10; i < 15; ++i) {
      ASSERT_TRUE(store
                      ->Append(Request({To(absl::StrCat("s", i), kAnyVersion,
                                           {Event("x")})}))
                      .ok());
    }
    VerifyReport clean = store->Verify(0);
    ASSERT_TRUE(clean.ok) << clean.reason;
    ASSERT_EQ(clean.events, 16u);
    ASSERT_EQ(clean.checkpoints, 1u);
  }
  EditRawLog(dir_, [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* log) {
    for (uint64_t seq = 9; seq <= 16; ++seq) {
      ASSERT_TRUE(db->Delete({}, log, EventKey(0, seq)).ok());
    }
  });
  o.signer.reset();
  VerifyReport r = Open(o)->Verify(0);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_sequence, 9u);
  EXPECT_NE(r.reason.find("checkpoint of tree 10"), std::string::npos)
      << r.reason;
}

}  // namespace
}  // namespace wangge::eventstore
