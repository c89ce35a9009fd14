#include "services/audit/verifier.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/audit/export_format.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/testing/test_support.h"

namespace wangge::audit {
namespace {

using wangge::common::v1::StoredEvent;

class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signer_ = *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_ED25519,
                                        "intake-1");
    verifier_ = *crypto::Verifier::FromPem(signer_->PublicKeyPem());
    eventstore::Options o;
    o.service = "intake";
    o.path = testing::MakeTempDir("audit") + "/store";
    o.partitions = 1;
    o.signer = signer_;
    o.checkpoint_every_events = 40;
    o.durability = eventstore::Durability::kAsync;
    auto store = *eventstore::EventStore::Open(o);
    for (int i = 0; i < 400; ++i) {
      eventstore::AppendRequest r;
      eventstore::StreamAppend sa;
      sa.stream_id = absl::StrCat("case/", i % 37);
      common::v1::Position payload;
      payload.set_sequence(i);
      sa.events.push_back(eventstore::MakeEvent(payload));
      sa.events.back().type = "wangge.intake.v1.ReportReceived";
      r.streams.push_back(sa);
      ASSERT_TRUE(store->Append(r).ok());
    }
    log_ = *store->ReadPartition(0, 1, SIZE_MAX);
  }

  PartitionReport Verify(const std::vector<StoredEvent>& log,
                         const common::v1::Checkpoint* saved = nullptr) {
    PartitionVerifier v("intake", 0, &hasher_, verifier_.get());
    if (saved != nullptr) v.ExpectPrefix(*saved);
    for (const auto& e : log) v.Add(e);
    return v.Finish();
  }

  // Recomputes leaf and chain hashes from `from` on, as a forger would.
  void Rehash(std::vector<StoredEvent>& log, size_t from) {
    std::string chain = from == 0 ? "" : log[from - 1].chain_hash();
    for (size_t i = from; i < log.size(); ++i) {
      log[i].set_leaf_hash(merkle::LeafHash(hasher_, log[i].record()));
      log[i].set_chain_hash(hasher_.Hash2(chain, log[i].leaf_hash()));
      chain = log[i].chain_hash();
    }
  }

  crypto::Hasher hasher_{common::v1::HASH_ALGORITHM_SHA256};
  std::shared_ptr<crypto::Signer> signer_;
  std::unique_ptr<crypto::Verifier> verifier_;
  std::vector<StoredEvent> log_;
};

TEST_F(VerifierTest, GenuineHistoryVerifiesClean) {
  PartitionReport r = Verify(log_);
  EXPECT_TRUE(r.violations.empty()) << r.violations[0].message;
  EXPECT_GE(r.checkpoints, 9u);
  EXPECT_EQ(r.events, log_.size());
  ASSERT_TRUE(r.last_checkpoint.has_value());
}

TEST_F(VerifierTest, AnyTamperingIsFoundAtItsPosition) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<StoredEvent> log = log_;
    const size_t i = rng() % (log.size() - 1);
    uint64_t expected_seq = i + 1;
    switch (trial % 4) {
      case 0: {  // flip one byte of a record
        std::string rec = log[i].record();
        rec[rng() % rec.size()] ^= static_cast<char>(1 << (rng() % 8));
        log[i].set_record(rec);
        break;
      }
      case 1:  // delete an event
        log.erase(log.begin() + i);
        break;
      case 2:  // swap two neighbours
        std::swap(log[i], log[i + 1]);
        break;
      case 3:  // insert a copy of another event
        log.insert(log.begin() + i, log_[(i + 7) % log_.size()]);
        break;
    }
    PartitionReport r = Verify(log);
    ASSERT_FALSE(r.violations.empty()) << "trial " << trial;
    EXPECT_EQ(r.violations[0].sequence, expected_seq)
        << "trial " << trial << " " << r.violations[0].check << ": "
        << r.violations[0].message;
  }
}

TEST_F(VerifierTest, RewrittenHistoryIsCaughtBySignedCheckpoints) {
  std::vector<StoredEvent> log = log_;
  // Change an event's payload and recompute every hash after it.
  common::v1::EventEnvelope env;
  env.ParseFromString(log[10].record());
  env.mutable_actor()->set_subject("someone else");
  log[10].set_record(env.SerializeAsString());
  Rehash(log, 10);
  PartitionReport r = Verify(log);
  ASSERT_FALSE(r.violations.empty());
  EXPECT_EQ(r.violations[0].check, "checkpoint_root");
  // Rewriting the checkpoints too cannot forge their signatures.
  for (size_t i = 11; i < log.size(); ++i) {
    common::v1::EventEnvelope e;
    e.ParseFromString(log[i].record());
    if (e.event_type() != "wangge.common.v1.Checkpoint") continue;
    PartitionVerifier prefix("intake", 0, &hasher_, verifier_.get());
    for (size_t k = 0; k < i; ++k) prefix.Add(log[k]);
    merkle::CompactRange range(&hasher_);
    for (size_t k = 0; k < i; ++k) range.Append(log[k].leaf_hash());
    common::v1::Checkpoint c;
    c.ParseFromString(e.payload().value());
    c.set_merkle_root(range.Root());
    c.set_chain_hash(log[i - 1].chain_hash());
    e.mutable_payload()->set_value(c.SerializeAsString());
    log[i].set_record(e.SerializeAsString());
    Rehash(log, i);
  }
  r = Verify(log);
  ASSERT_FALSE(r.violations.empty());
  EXPECT_EQ(r.violations[0].check, "signature");
  // A saved checkpoint from the genuine log exposes the fork as well.
  PartitionReport genuine = Verify(log_);
  PartitionReport forked = Verify(log, &*genuine.last_checkpoint);
  bool consistency = false;
  for (const auto& v : forked.violations)
    consistency |= v.check == "consistency";
  EXPECT_TRUE(consistency);
  EXPECT_TRUE(Verify(log_, &*genuine.last_checkpoint).violations.empty());
}

// A forger who removes every checkpoint and recomputes the hashes leaves a
// chain that checks; the run of events no signed checkpoint covers gives it
// away. The genuine log's unsigned tail is within the bound.
TEST_F(VerifierTest, RemovedCheckpointsAreCaughtByTheUnsignedRun) {
  std::vector<StoredEvent> log;
  for (const auto& e : log_) {
    common::v1::EventEnvelope env;
    env.ParseFromString(e.record());
    if (env.event_type() == "wangge.common.v1.Checkpoint") continue;
    env.set_sequence(log.size() + 1);  // renumbered
    StoredEvent copy = e;
    copy.set_record(env.SerializeAsString());
    log.push_back(copy);
  }
  Rehash(log, 0);
  auto run = [&](const std::vector<StoredEvent>& events) {
    PartitionVerifier v("intake", 0, &hasher_, verifier_.get());
    v.SetMaxUnsigned(80);  // twice the store's checkpoint_every_events
    for (const auto& e : events) v.Add(e);
    return v.Finish();
  };
  PartitionReport forged = run(log);
  ASSERT_EQ(forged.violations.size(), 1u);
  EXPECT_EQ(forged.violations[0].check, "unsigned");
  EXPECT_EQ(forged.violations[0].sequence, 1u);
  EXPECT_EQ(forged.unsigned_events, log.size());
  PartitionReport genuine = run(log_);
  EXPECT_TRUE(genuine.violations.empty()) << genuine.violations[0].message;
  EXPECT_LE(genuine.unsigned_events, 40u);
  // Without a bound, the forged chain alone passes: the check is what
  // catches it.
  EXPECT_TRUE(Verify(log).violations.empty());
}

// A signing key rotated halfway: the checkpoints before and after verify
// with the two keys together, and with neither alone.
TEST(KeyRotationTest, CheckpointsVerifyWithTheKeysOfTheirTime) {
  const crypto::Hasher hasher(common::v1::HASH_ALGORITHM_SHA256);
  std::shared_ptr<const crypto::Signer> keys[2] = {
      *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_ED25519,
                                "intake-1"),
      *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_ED25519,
                                "intake-2")};
  const std::string path = testing::MakeTempDir("rotation") + "/store";
  for (int round = 0; round < 2; ++round) {
    eventstore::Options o;
    o.service = "intake";
    o.path = path;
    o.partitions = 1;
    o.signer = keys[round];
    o.checkpoint_every_events = 20;
    o.durability = eventstore::Durability::kAsync;
    auto store = eventstore::EventStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i = 0; i < 100; ++i) {
      eventstore::AppendRequest r;
      eventstore::StreamAppend sa;
      sa.stream_id = absl::StrCat("case/", round, "-", i);
      common::v1::Position payload;
      payload.set_sequence(i);
      sa.events.push_back(eventstore::MakeEvent(payload));
      sa.events.back().type = "wangge.intake.v1.ReportReceived";
      r.streams.push_back(sa);
      ASSERT_TRUE((*store)->Append(r).ok());
    }
  }
  eventstore::Options o;
  o.service = "intake";
  o.path = path;
  o.partitions = 1;
  o.signer = keys[1];
  auto store = *eventstore::EventStore::Open(o);
  const auto log = *store->ReadPartition(0, 1, SIZE_MAX);
  auto old_key = *crypto::Verifier::FromPem(keys[0]->PublicKeyPem());
  auto new_key = *crypto::Verifier::FromPem(keys[1]->PublicKeyPem());
  auto verify = [&](std::vector<const crypto::Verifier*> ring) {
    PartitionVerifier v("intake", 0, &hasher, std::move(ring));
    for (const auto& e : log) v.Add(e);
    return v.Finish();
  };
  PartitionReport both = verify({new_key.get(), old_key.get()});
  EXPECT_TRUE(both.violations.empty());
  EXPECT_GE(both.checkpoints, 8u);
  for (const auto* alone : {old_key.get(), new_key.get()}) {
    PartitionReport r = verify({alone});
    ASSERT_FALSE(r.violations.empty());
    EXPECT_EQ(r.violations[0].check, "signature");
  }
}

TEST_F(VerifierTest, ForeignEventTypesAreViolations) {
  EXPECT_TRUE(OwnedBy("wangge.intake.v1.ReportReceived", "intake"));
  EXPECT_TRUE(OwnedBy("wangge.common.v1.Checkpoint", "dispatch"));
  EXPECT_FALSE(OwnedBy("wangge.dispatch.v1.TaskDispatched", "intake"));
  // A log that was rewritten to carry another service's event.
  std::vector<StoredEvent> log = log_;
  common::v1::EventEnvelope env;
  env.ParseFromString(log[5].record());
  env.set_event_type("wangge.dispatch.v1.TaskDispatched");
  log[5].set_record(env.SerializeAsString());
  Rehash(log, 5);
  bool ownership = false;
  for (const auto& v : Verify(log).violations) {
    ownership |= v.check == "ownership" && v.sequence == 6;
  }
  EXPECT_TRUE(ownership);
}

TEST_F(VerifierTest, ExportRoundTripsAndVerifiesTheSame) {
  std::vector<StoredEvent> back;
  for (const auto& e : log_) {
    const std::string line = ExportLine("intake", 0, e);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    auto parsed = ParseExportLine(line);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->service, "intake");
    back.push_back(parsed->event);
  }
  EXPECT_TRUE(Verify(back).violations.empty());
  EXPECT_FALSE(ParseExportLine("{}").ok());
}

}  // namespace
}  // namespace wangge::audit
