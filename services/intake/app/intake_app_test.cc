#include "services/intake/app/intake_app.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/common/testing/test_support.h"
#include "services/registry/domain/test_registry.h"
#include "services/registry/generator/city_generator.h"
#include "wangge/supervision/v1/events.pb.h"

namespace wangge::intake {
namespace {

const absl::Time kT0 =
    absl::FromCivil(absl::CivilDay(2024, 1, 1), absl::UTCTimeZone());

class IntakeAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("intake");
    Open();
    // The registry's events, as the consumer would deliver them.
    size_t areas = 0;
    for (const auto& env : registry::testing::DemoEnvelopes(1, kT0, &areas)) {
      auto effects = app_->RegistryEffects(env);
      ASSERT_TRUE(effects.ok());
      ASSERT_TRUE(store_->Append(*effects).ok());
      app_->OnRegistryApplied(env);
    }
    ASSERT_GT(areas, 0u);
    ASSERT_EQ(app_->known_areas(), areas);
  }
  void Open() {
    eventstore::Options o;
    o.service = "intake";
    o.path = dir_ + "/store";
    o.partitions = 4;
    store_ = *eventstore::EventStore::Open(o);
    keys_ = *KeyStore::Open(dir_ + "/keys");
    app_ = std::make_unique<IntakeApp>(store_.get(), keys_.get(), options_,
                                       &clock_);
    ASSERT_TRUE(app_->Load().ok());
  }
  v1::ReportCaseRequest Request(const std::string& id) {
    v1::ReportCaseRequest r;
    r.set_request_id(id);
    r.set_category_code("component/01/0101");
    r.set_description("上水井盖缺失 missing water-supply cover");
    auto* p = r.mutable_location()->mutable_point();
    p->set_longitude(104.06);
    p->set_latitude(30.66);
    p->set_coordinate_system(common::v1::COORDINATE_SYSTEM_WGS84);
    return r;
  }
  common::v1::Actor Hotline() {
    common::v1::Actor a;
    a.set_subject("12345-system");
    a.set_role(common::v1::ROLE_CHANNEL);
    a.set_channel("12345");
    return a;
  }

  std::string dir_;
  FakeClock clock_{kT0 + absl::Hours(24 * 200)};
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<IntakeApp> app_;
  IntakeOptions options_;
};

TEST_F(IntakeAppTest, ReportMintsACaseAndARetryIsTheSameCase) {
  auto first = app_->ReportCase(Hotline(), Request("r-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->case_id().substr(0, 9), "C20240719");
  EXPECT_FALSE(first->area_code().empty());
  const auto heads = store_->Heads();
  auto retry = app_->ReportCase(Hotline(), Request("r-1"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->case_id(), first->case_id());
  EXPECT_EQ(retry->area_code(), first->area_code());
  EXPECT_EQ(store_->Heads(), heads);
  // Another request id is another case.
  auto second = app_->ReportCase(Hotline(), Request("r-2"));
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->case_id(), first->case_id());
  // The stored event and the report view.
  auto events = store_->ReadStream("case/" + first->case_id());
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  auto env = store_->Decode((*events)[0]);
  EXPECT_EQ(env->event_type(), "wangge.intake.v1.ReportReceived");
  EXPECT_EQ(env->actor().channel(), "12345");
  // The catalogue the class was checked against (the demo deployment's).
  EXPECT_EQ(env->policy_version(), "demo-2024.1");
  auto report = app_->GetReport(first->case_id());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->source(), "REPORT_SOURCE_HOTLINE_12345");
  EXPECT_EQ(app_->GetReport("C0-NOPE").status().code(),
            absl::StatusCode::kNotFound);
}

// The hints come from an index on disk: they survive a restart, compare
// points in WGS84 whatever system each report used, find neighbours across
// the index's cell edges, keep the radius, and list the newest first.
TEST_F(IntakeAppTest, DuplicateHintsUseTheIndexOnDisk) {
  auto first = app_->ReportCase(Hotline(), Request("n-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  clock_.Advance(absl::Minutes(1));
  auto second = app_->ReportCase(Hotline(), Request("n-2"));
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->possible_duplicates_size(), 1);
  // Restart: nothing in memory.
  app_.reset();
  store_.reset();
  keys_.reset();
  Open();
  clock_.Advance(absl::Minutes(1));
  // The same spot given in GCJ-02 (about 500 m off in raw numbers).
  v1::ReportCaseRequest gcj = Request("n-3");
  const LonLat shifted = Wgs84ToGcj02({104.06, 30.66});
  gcj.mutable_location()->mutable_point()->set_longitude(shifted.lon);
  gcj.mutable_location()->mutable_point()->set_latitude(shifted.lat);
  gcj.mutable_location()->mutable_point()->set_coordinate_system(
      common::v1::COORDINATE_SYSTEM_GCJ02);
  auto third = app_->ReportCase(Hotline(), gcj);
  ASSERT_TRUE(third.ok()) << third.status();
  ASSERT_EQ(third->possible_duplicates_size(), 2);
  EXPECT_EQ(third->possible_duplicates(0), second->case_id());  // newest
  EXPECT_EQ(third->possible_duplicates(1), first->case_id());
  // A retry is answered with the first answer, hints included.
  auto again = app_->ReportCase(Hotline(), gcj);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), third->SerializeAsString());
  // Across a cell edge, 60 m apart east-west and north-south; and 150 m
  // away (outside the 100 m radius) is no duplicate.
  const double cell = 200.0 / 111320.0;
  const int64_t row = std::floor(30.67 / cell);
  const double edge_lat = (row + 1) * cell;
  const double width = NearbyCellWidthDeg(cell, row + 1);
  const double edge_lon = std::ceil(104.07 / width) * width;
  auto at = [&](const std::string& id, double lon, double lat) {
    v1::ReportCaseRequest r = Request(id);
    r.mutable_location()->mutable_point()->set_longitude(lon);
    r.mutable_location()->mutable_point()->set_latitude(lat);
    return app_->ReportCase(Hotline(), r);
  };
  const double lon_30m = 30.0 / (111320.0 * std::cos(30.67 * M_PI / 180));
  const double lat_30m = 30.0 / 111320.0;
  auto west = at("n-4", edge_lon - lon_30m, edge_lat - lat_30m);
  ASSERT_TRUE(west.ok()) << west.status();
  EXPECT_EQ(west->possible_duplicates_size(), 0);
  auto east = at("n-5", edge_lon + lon_30m, edge_lat + lat_30m);
  ASSERT_TRUE(east.ok());
  ASSERT_EQ(east->possible_duplicates_size(), 1);
  EXPECT_EQ(east->possible_duplicates(0), west->case_id());
  auto far = at("n-6", edge_lon + 5 * lon_30m, edge_lat);
  ASSERT_TRUE(far.ok());
  EXPECT_EQ(far->possible_duplicates_size(), 0);
}

TEST_F(IntakeAppTest, NearbyReportsOfTheSameClassAreHintedAndListed) {
  auto first = app_->ReportCase(Hotline(), Request("d-1"));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->possible_duplicates_size(), 0);
  v1::ReportCaseRequest near = Request("d-2");
  near.mutable_location()->mutable_point()->set_longitude(
      104.0603);  // ~30 m east
  auto second = app_->ReportCase(Hotline(), near);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->possible_duplicates_size(), 1);
  EXPECT_EQ(second->possible_duplicates(0), first->case_id());
  // Another class at the same spot is no duplicate; nor is a report after
  // the window.
  v1::ReportCaseRequest other = Request("d-3");
  other.set_category_code("event/01/0102");
  EXPECT_EQ(app_->ReportCase(Hotline(), other)->possible_duplicates_size(), 0);
  clock_.Advance(absl::Hours(25));
  EXPECT_EQ(
      app_->ReportCase(Hotline(), Request("d-4"))->possible_duplicates_size(),
      0);
  // Listing by area, in pages.
  auto page1 = app_->ListReports(first->area_code().substr(0, 6), 2, "");
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->reports_size(), 2);
  ASSERT_FALSE(page1->next_page_token().empty());
  auto page2 = app_->ListReports(first->area_code().substr(0, 6), 2,
                                 page1->next_page_token());
  ASSERT_TRUE(page2.ok());
  EXPECT_EQ(page2->reports_size(), 2);
  EXPECT_TRUE(page2->next_page_token().empty());
  EXPECT_EQ(app_->ListReports("110101", 10, "")->reports_size(), 0);
  // A channel's own only: every report here came from the hotline's system.
  const std::string area = first->area_code().substr(0, 6);
  EXPECT_EQ(
      app_->ListReports(area, 10, "", Hotline().subject())->reports_size(),
      app_->ListReports(area, 10, "")->reports_size());
  EXPECT_EQ(app_->ListReports(area, 10, "", "another-gateway")->reports_size(),
            0);
}

// Supervision's events as intake's consumer applies them: the effects
// appended with the consumed position.
class SupervisionFeed {
 public:
  SupervisionFeed(IntakeApp* app, eventstore::EventStore* store)
      : app_(app), store_(store) {}
  template <typename Event>
  void Apply(const Event& e) {
    common::v1::EventEnvelope env;
    env.set_event_type(Event::descriptor()->full_name());
    env.set_source_service("supervision");
    env.set_partition(0);
    env.set_sequence(++sequence_);
    env.mutable_payload()->set_value(e.SerializeAsString());
    auto effects = app_->SupervisionEffects(env);
    ASSERT_TRUE(effects.ok()) << effects.status();
    effects->consumed.push_back({"supervision", 0, sequence_});
    effects->defer_fsync = true;
    ASSERT_TRUE(store_->Append(*std::move(effects)).ok());
  }

 private:
  IntakeApp* const app_;
  eventstore::EventStore* const store_;
  uint64_t sequence_ = 0;
};

TEST_F(IntakeAppTest, ClosedAndVoidedCasesAreNoLongerHinted) {
  SupervisionFeed supervision(app_.get(), store_.get());
  auto first = app_->ReportCase(Hotline(), Request("c-1"));
  ASSERT_TRUE(first.ok());
  auto hints = [&](const std::string& request_id) {
    clock_.Advance(absl::Minutes(1));  // newest first, by time
    auto r = app_->ReportCase(Hotline(), Request(request_id));
    EXPECT_TRUE(r.ok()) << r.status();
    return std::vector<std::string>(r->possible_duplicates().begin(),
                                    r->possible_duplicates().end());
  };
  EXPECT_EQ(hints("c-2"), std::vector<std::string>{first->case_id()});
  // Events that end nothing change nothing.
  supervision::v1::CaseFiled filed;
  filed.set_case_id(first->case_id());
  supervision.Apply(filed);
  // c-2 is hinted too from here on: the newest first.
  std::vector<std::string> both = hints("c-3");
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[1], first->case_id());
  const std::string second = both[0];
  // Closed: no longer hinted; the other open report still is.
  supervision::v1::CaseClosed closed;
  closed.set_case_id(first->case_id());
  supervision.Apply(closed);
  std::vector<std::string> after_close = hints("c-4");
  EXPECT_EQ(
      std::count(after_close.begin(), after_close.end(), first->case_id()), 0);
  EXPECT_EQ(std::count(after_close.begin(), after_close.end(), second), 1);
  // Reopened after a follow-up: hinted again.
  supervision::v1::CaseReopened reopened;
  reopened.set_case_id(first->case_id());
  supervision.Apply(reopened);
  std::vector<std::string> after_reopen = hints("c-5");
  EXPECT_EQ(
      std::count(after_reopen.begin(), after_reopen.end(), first->case_id()),
      1);
  // Voided (a duplicate merged away) and not accepted: gone as well.
  supervision::v1::CaseVoided voided;
  voided.set_case_id(first->case_id());
  voided.set_duplicate_of(second);
  supervision.Apply(voided);
  supervision::v1::CaseNotAccepted not_accepted;
  not_accepted.set_case_id(second);
  supervision.Apply(not_accepted);
  std::vector<std::string> after_void = hints("c-6");
  EXPECT_EQ(std::count(after_void.begin(), after_void.end(), first->case_id()),
            0);
  EXPECT_EQ(std::count(after_void.begin(), after_void.end(), second), 0);
  // Another intake's case, and a payload that does not parse.
  supervision::v1::CaseClosed foreign;
  foreign.set_case_id("C20240101-NOTOURS1");
  supervision.Apply(foreign);
  common::v1::EventEnvelope bad;
  bad.set_event_type(supervision::v1::CaseClosed::descriptor()->full_name());
  bad.mutable_payload()->set_value("\xff\xff\xff");
  EXPECT_EQ(app_->SupervisionEffects(bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(IntakeAppTest, InvalidReportWritesNothing) {
  v1::ReportCaseRequest bad = Request("r-bad");
  bad.clear_description();
  const auto heads = store_->Heads();
  EXPECT_EQ(app_->ReportCase(Hotline(), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Heads(), heads);
  // The failed attempt did not burn its request id.
  bad.set_description("now complete");
  EXPECT_TRUE(app_->ReportCase(Hotline(), bad).ok());
}

TEST_F(IntakeAppTest, RegistryCopySurvivesRestart) {
  auto before = app_->ReportCase(Hotline(), Request("r-1"));
  ASSERT_TRUE(before.ok());
  const size_t areas = app_->known_areas();
  app_.reset();
  keys_.reset();
  store_.reset();
  Open();
  EXPECT_EQ(app_->known_areas(), areas);
  auto after = app_->ReportCase(Hotline(), Request("r-9"));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->area_code(), before->area_code());
}

}  // namespace
}  // namespace wangge::intake

namespace wangge::intake {
namespace {

bool KeyStoreFilesContain(const std::string& dir, const std::string& needle) {
  FILE* p = popen(("cat " + dir + "/* 2>/dev/null").c_str(), "r");
  std::string all;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) all.append(buf, n);
  pclose(p);
  return all.find(needle) != std::string::npos;
}

// Contact reveals are limited per agent: a call's worth, not a bulk export.
TEST_F(IntakeAppTest, RevealsAreLimitedPerAgent) {
  options_.reveal_rate = {1.0 / 60, 2};
  app_.reset();
  keys_.reset();
  store_.reset();
  Open();
  v1::ReportCaseRequest r = Request("r-reveal");
  r.mutable_reporter()->set_name("李四");
  r.mutable_reporter()->set_phone("13912345678");
  auto c = app_->ReportCase(Hotline(), r);
  ASSERT_TRUE(c.ok()) << c.status();
  common::v1::Actor agent;
  agent.set_subject("agent-7");
  agent.set_role(common::v1::ROLE_FOLLOW_UP_AGENT);
  ASSERT_TRUE(app_->RevealReporterContact(agent, c->case_id(), "call").ok());
  ASSERT_TRUE(app_->RevealReporterContact(agent, c->case_id(), "call").ok());
  const auto heads = store_->Heads();
  auto limited = app_->RevealReporterContact(agent, c->case_id(), "call");
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_GT(status::RetryAfter(limited.status()), absl::ZeroDuration());
  EXPECT_EQ(store_->Heads(), heads);  // no access logged: nothing read
  common::v1::Actor other = agent;
  other.set_subject("agent-8");
  EXPECT_TRUE(app_->RevealReporterContact(other, c->case_id(), "call").ok());
  clock_.Advance(absl::Minutes(1));
  EXPECT_TRUE(app_->RevealReporterContact(agent, c->case_id(), "call").ok());
}

TEST_F(IntakeAppTest, RateLimitAnswersResourceExhaustedWithAHint) {
  options_.caller_rate = {1, 2};  // 1/s, burst 2
  app_.reset();
  keys_.reset();
  store_.reset();
  Open();
  ASSERT_TRUE(app_->ReportCase(Hotline(), Request("a")).ok());
  ASSERT_TRUE(app_->ReportCase(Hotline(), Request("b")).ok());
  const auto heads = store_->Heads();
  auto limited = app_->ReportCase(Hotline(), Request("c"));
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status::RetryAfter(limited.status()), absl::Seconds(1));
  EXPECT_EQ(store_->Heads(), heads);
  // A retry of an accepted report is answered even when limited.
  EXPECT_TRUE(app_->ReportCase(Hotline(), Request("a")).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(app_->ReportCase(Hotline(), Request("c")).ok());
}

TEST_F(IntakeAppTest, ContactIsEncryptedRevealedWithAnAccessEventAndForgotten) {
  v1::ReportCaseRequest r = Request("r-contact");
  r.mutable_reporter()->set_name("李四");
  r.mutable_reporter()->set_phone("13912345678");
  auto c = app_->ReportCase(Hotline(), r);
  ASSERT_TRUE(c.ok()) << c.status();
  // Only ciphertext in the event log.
  auto events = *store_->ReadStream("case/" + c->case_id());
  EXPECT_EQ(events[0].record().find("13912345678"), std::string::npos);

  common::v1::Actor agent;
  agent.set_subject("agent-7");
  agent.set_role(common::v1::ROLE_FOLLOW_UP_AGENT);
  EXPECT_EQ(
      app_->RevealReporterContact(agent, c->case_id(), "").status().code(),
      absl::StatusCode::kInvalidArgument);
  auto contact =
      app_->RevealReporterContact(agent, c->case_id(), "follow-up call");
  ASSERT_TRUE(contact.ok()) << contact.status();
  EXPECT_EQ(contact->phone(), "13912345678");
  EXPECT_EQ(contact->name(), "李四");
  events = *store_->ReadStream("case/" + c->case_id());
  ASSERT_EQ(events.size(), 2u);
  // The answer says where the access event landed.
  ASSERT_EQ(contact->positions_size(), 1);
  EXPECT_EQ(contact->positions(0).service(), "intake");
  EXPECT_EQ(contact->positions(0).sequence(),
            store_->Decode(events[1])->sequence());
  auto access = *store_->Decode(events[1]);
  EXPECT_EQ(access.event_type(), "wangge.intake.v1.ReporterContactRevealed");
  EXPECT_EQ(access.actor().subject(), "agent-7");

  // The key's bytes are in the key store until the reporter is forgotten.
  const std::string key = **keys_->Get(c->case_id());
  EXPECT_TRUE(KeyStoreFilesContain(dir_ + "/keys", key));
  common::v1::Actor admin;
  admin.set_subject("dpo");
  admin.set_role(common::v1::ROLE_ADMINISTRATOR);
  ASSERT_TRUE(
      app_->ForgetReporter(admin, c->case_id(), "PIPL erasure request").ok());
  EXPECT_TRUE(
      app_->ForgetReporter(admin, c->case_id(), "again").ok());  // idempotent
  EXPECT_FALSE(KeyStoreFilesContain(dir_ + "/keys", key));
  auto denied =
      app_->RevealReporterContact(agent, c->case_id(), "follow-up call");
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      absl::StartsWith(denied.status().message(), "reporter_forgotten"));
  // The history still verifies: only a key was destroyed, no event changed.
  for (int p = 0; p < store_->partitions(); ++p) {
    auto report = store_->Verify(p);
    EXPECT_TRUE(report.ok) << report.reason;
  }
  events = *store_->ReadStream("case/" + c->case_id());
  EXPECT_EQ(events.size(), 3u);  // received, revealed, forgotten (once)
}

// A crash between recording an erasure and destroying the key leaves the
// key: the next reveal finishes the erasure instead of reading the contact.
// A key is written once: another case's id cannot replace it.
TEST_F(IntakeAppTest, AnErasureRecordedIsAnErasureEvenIfItsKeySurvived) {
  v1::ReportCaseRequest r = Request("r-crash");
  r.mutable_reporter()->set_phone("13700000000");
  auto c = app_->ReportCase(Hotline(), r);
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string key = **keys_->Get(c->case_id());
  EXPECT_EQ(keys_->Put(c->case_id(), "another key").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(**keys_->Get(c->case_id()), key);
  // ForgetReporter's first step alone: the erasure event, recorded.
  v1::ReporterForgotten forgotten;
  forgotten.set_case_id(c->case_id());
  forgotten.set_reason("PIPL erasure request");
  eventstore::AppendRequest append;
  append.command_id = "forget/" + c->case_id();
  append.actor.set_subject("dpo");
  eventstore::StreamAppend sa;
  sa.stream_id = "case/" + c->case_id();
  sa.events.push_back(eventstore::MakeEvent(forgotten));
  append.streams.push_back(std::move(sa));
  ASSERT_TRUE(store_->Append(std::move(append)).ok());
  common::v1::Actor agent;
  agent.set_subject("agent-7");
  agent.set_role(common::v1::ROLE_FOLLOW_UP_AGENT);
  auto denied = app_->RevealReporterContact(agent, c->case_id(), "call");
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(keys_->Get(c->case_id())->has_value());
  EXPECT_FALSE(KeyStoreFilesContain(dir_ + "/keys", key));
}

}  // namespace
}  // namespace wangge::intake
