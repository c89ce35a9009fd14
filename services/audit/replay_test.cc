#include "services/audit/replay.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/clock/clock.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/testing/test_support.h"
#include "services/intake/domain/report.h"
#include "services/registry/app/registry_app.h"
#include "services/registry/generator/city_generator.h"
#include "wangge/intake/v1/events.pb.h"

namespace wangge::audit {
namespace {

using common::v1::StoredEvent;

std::unique_ptr<eventstore::EventStore> OpenStore(
    const std::string& service, const Clock* clock = Clock::Real()) {
  eventstore::Options o;
  o.clock = clock;
  o.service = service;
  o.path = testing::MakeTempDir("replay") + "/store";
  o.partitions = 4;
  o.durability = eventstore::Durability::kAsync;
  auto store = eventstore::EventStore::Open(o);
  EXPECT_TRUE(store.ok()) << store.status();
  return std::move(*store);
}

common::v1::StateDigest Reported(const eventstore::EventStore& store,
                                 const std::string& name) {
  common::v1::StateDigest d;
  auto* p = d.add_projections();
  p->set_name(name);
  auto digest = store.ProjectionDigest(name);
  EXPECT_TRUE(digest.ok());
  p->set_digest(digest->first);
  p->set_rows(digest->second);
  return d;
}

std::map<uint32_t, std::vector<StoredEvent>> History(
    const eventstore::EventStore& store) {
  std::map<uint32_t, std::vector<StoredEvent>> out;
  for (int p = 0; p < store.partitions(); ++p)
    out[p] = *store.ReadPartition(p, 1, SIZE_MAX);
  return out;
}

absl::StatusOr<ReplayedState> Replay(
    const std::string& service,
    const std::map<uint32_t, std::vector<StoredEvent>>& h,
    absl::Time as_of = absl::InfiniteFuture()) {
  Replayer r(service, as_of);
  for (const auto& [p, events] : h) {
    for (const auto& e : events) {
      absl::Status s = r.Add(p, e);
      if (!s.ok()) return s;
    }
  }
  return r.Finish();
}

TEST(ReplayTest, RegistryAreasMatchTheServiceAndATamperedHistoryDoesNot) {
  auto store = OpenStore("registry");
  registry::RegistryApp app(store.get());
  ASSERT_TRUE(app.Load().ok());
  auto deployment =
      registry::GenerateDemo(7, absl::FromUnixSeconds(1700000000));
  ASSERT_TRUE(deployment.ok()) << deployment.status();
  common::v1::Actor actor;
  actor.set_subject("admin");
  ASSERT_TRUE(app.Import("import-1", *deployment, actor).ok());

  auto history = History(*store);
  auto replayed = Replay("registry", history);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  ASSERT_EQ(replayed->count("areas"), 1u);
  EXPECT_EQ(replayed->at("areas").size(), app.snapshot()->state.areas.size());
  auto result = Compare(*replayed, Reported(*store, "areas"),
                        common::v1::HASH_ALGORITHM_SHA256);
  ASSERT_EQ(result.size(), 1u);
  EXPECT_TRUE(result[0].match);
  EXPECT_GT(result[0].replayed_rows, 10u);

  // A history missing its last area creation rebuilds a different state.
  for (auto& [p, events] : history) {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      common::v1::EventEnvelope env;
      ASSERT_TRUE(env.ParseFromString(it->record()));
      if (env.event_type() != "wangge.registry.v1.AreaCreated") continue;
      registry::v1::AreaCreated created;
      ASSERT_TRUE(created.ParseFromString(env.payload().value()));
      // Leaf areas only: removing a parent would fail to apply instead.
      bool is_parent = false;
      for (const auto& [code, area] : app.snapshot()->state.areas) {
        is_parent = is_parent || area.parent_code == created.code();
      }
      if (is_parent) continue;
      events.erase(std::next(it).base());
      auto tampered = Replay("registry", history);
      ASSERT_TRUE(tampered.ok()) << tampered.status();
      auto diff = Compare(*tampered, Reported(*store, "areas"),
                          common::v1::HASH_ALGORITHM_SHA256);
      EXPECT_FALSE(diff[0].match);
      EXPECT_EQ(diff[0].replayed_rows + 1, diff[0].reported_rows);
      return;
    }
  }
  FAIL() << "no leaf AreaCreated found";
}

TEST(ReplayTest, IntakeReportsAreRenderedByReportView) {
  auto store = OpenStore("intake");
  std::map<std::string, std::string> rows;
  for (int i = 0; i < 20; ++i) {
    intake::v1::ReportReceived e;
    e.set_case_id(absl::StrCat("C20261122-", 1000 + i));
    e.set_category_code("01.01");
    e.set_description(absl::StrCat("manhole cover ", i));
    e.mutable_received_time()->set_seconds(1700000000 + i);
    eventstore::AppendRequest r;
    eventstore::StreamAppend sa;
    sa.stream_id = "case/" + e.case_id();
    sa.events.push_back(eventstore::MakeEvent(e));
    r.streams.push_back(sa);
    const std::string row = intake::ReportView(e).SerializeAsString();
    r.projection_writes.push_back({"reports", e.case_id(), row});
    ASSERT_TRUE(store->Append(r).ok());
  }
  auto replayed = Replay("intake", History(*store));
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  auto result = Compare(*replayed, Reported(*store, "reports"),
                        common::v1::HASH_ALGORITHM_SHA256);
  ASSERT_EQ(result.size(), 1u);
  EXPECT_TRUE(result[0].match);
  EXPECT_EQ(result[0].replayed_rows, 20u);

  // A row the service altered in place no longer matches its history.
  eventstore::AppendRequest edit;
  intake::v1::ReportReceived forged;
  forged.set_case_id("C20261122-1003");
  forged.set_description("nothing happened");
  edit.projection_writes.push_back(
      {"reports", forged.case_id(),
       intake::ReportView(forged).SerializeAsString()});
  ASSERT_TRUE(store->Append(edit).ok());
  auto after = Compare(*replayed, Reported(*store, "reports"),
                       common::v1::HASH_ALGORITHM_SHA256);
  EXPECT_FALSE(after[0].match);
}

void AppendReports(eventstore::EventStore& store, int from, int n) {
  for (int i = from; i < from + n; ++i) {
    intake::v1::ReportReceived e;
    e.set_case_id(absl::StrCat("C20261122-", 1000 + i));
    e.set_description(absl::StrCat("illegal parking ", i));
    eventstore::AppendRequest r;
    eventstore::StreamAppend sa;
    sa.stream_id = "case/" + e.case_id();
    sa.events.push_back(eventstore::MakeEvent(e));
    r.streams.push_back(sa);
    r.projection_writes.push_back(
        {"reports", e.case_id(), intake::ReportView(e).SerializeAsString()});
    ASSERT_TRUE(store.Append(r).ok());
  }
}

TEST(ReplayTest, ReplayToAPastMomentMatchesTheStateCapturedThen) {
  FakeClock clock(absl::FromUnixSeconds(1763798400));  // 2025-11-22T08:00Z
  auto store = OpenStore("intake", &clock);
  AppendReports(*store, 0, 12);
  const common::v1::StateDigest morning = Reported(*store, "reports");
  const absl::Time captured = clock.Now();
  clock.Advance(absl::Hours(3));
  AppendReports(*store, 12, 9);
  const common::v1::StateDigest noon = Reported(*store, "reports");

  auto then = Replay("intake", History(*store), captured + absl::Minutes(30));
  ASSERT_TRUE(then.ok()) << then.status();
  auto at_morning = Compare(*then, morning, common::v1::HASH_ALGORITHM_SHA256);
  EXPECT_TRUE(at_morning[0].match);
  EXPECT_EQ(at_morning[0].replayed_rows, 12u);
  EXPECT_FALSE(
      Compare(*then, noon, common::v1::HASH_ALGORITHM_SHA256)[0].match);

  auto now = Replay("intake", History(*store));
  ASSERT_TRUE(now.ok());
  EXPECT_TRUE(Compare(*now, noon, common::v1::HASH_ALGORITHM_SHA256)[0].match);

  // Before anything was recorded: empty, and the export says so.
  auto before = Replay("intake", History(*store), captured - absl::Hours(1));
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->at("reports").empty());
  const std::string json = StateJson(*then);
  EXPECT_NE(json.find("illegal parking 11"), std::string::npos) << json;
  EXPECT_EQ(json.find("illegal parking 12"), std::string::npos) << json;
}

// Intake rows are collected unordered and sorted once: the result must be
// what assigning them one by one into an ordered map gives, for keys that
// share their first 16 bytes, differ only in length or hold NUL bytes, for a
// repeated key (the later row wins), and for inputs large enough to be
// sorted on two threads.
TEST(ReplayTest, ReportRowsComeOutInKeyOrderWithTheLastRowOfAKey) {
  for (const int n : {7, 150000}) {
    Replayer r("intake");
    std::map<std::string, std::string> expected;
    std::vector<std::string> ids = {"C20261122-0000001",
                                    "C20261122-00000010",
                                    "C20261122-0000001" + std::string(1, '\0'),
                                    "C2026112",
                                    "C20261122-0000001\u00e9",
                                    ""};
    for (int i = 0; i < n; ++i)
      ids.push_back(absl::StrCat("C20261122-", (i * 7919) % n));
    ids.push_back("C2026112");  // again: a second row for the key
    for (size_t i = 0; i < ids.size(); ++i) {
      intake::v1::ReportReceived e;
      e.set_case_id(ids[i]);
      e.set_description(absl::StrCat("row ", i));
      common::v1::EventEnvelope env;
      env.set_event_type("wangge.intake.v1.ReportReceived");
      env.mutable_payload()->PackFrom(e);
      ASSERT_TRUE(r.Apply(i % 4, env).ok());
      expected[ids[i]] = intake::ReportView(e).SerializeAsString();
    }
    auto state = r.Finish();
    ASSERT_TRUE(state.ok()) << state.status();
    const ProjectionRows& rows = state->at("reports");
    ASSERT_EQ(rows.size(), expected.size()) << n;
    size_t i = 0;
    for (const auto& [key, row] : expected) {
      ASSERT_EQ(rows[i].first, key) << "row " << i << " of " << n;
      ASSERT_EQ(rows[i].second, row) << key;
      ++i;
    }
  }
}

TEST(ReplayTest, UnknownServiceAndBadRecordsAreErrors) {
  Replayer r("nosuch");
  EXPECT_EQ(r.Finish().status().code(), absl::StatusCode::kUnimplemented);
  StoredEvent bad;
  bad.set_record("\xff\xff\xff");
  EXPECT_EQ(r.Add(0, bad).code(), absl::StatusCode::kDataLoss);
  // Reported digests absent: never a match.
  ReplayedState empty{{"reports", {}}};
  auto c = Compare(empty, common::v1::StateDigest(),
                   common::v1::HASH_ALGORITHM_SHA256);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_FALSE(c[0].match);
}

}  // namespace
}  // namespace wangge::audit
