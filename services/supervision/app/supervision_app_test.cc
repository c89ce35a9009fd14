#include "services/supervision/app/supervision_app.h"

#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/common/testing/test_support.h"
#include "services/registry/domain/test_registry.h"
#include "wangge/dispatch/v1/events.pb.h"
#include "wangge/intake/v1/events.pb.h"

namespace wangge::supervision {
namespace {

namespace reg = registry::testing;
using reg::Local;

common::v1::Actor Person(common::v1::Role role, const std::string& subject) {
  common::v1::Actor a;
  a.set_subject(subject);
  a.set_role(role);
  return a;
}

template <typename T>
common::v1::EventEnvelope Envelope(const T& payload, const std::string& source,
                                   uint64_t sequence, absl::Time occurred) {
  common::v1::EventEnvelope env;
  env.set_event_id(absl::StrCat(source, "-", sequence));
  env.set_event_type(payload.GetDescriptor()->full_name());
  env.set_source_service(source);
  env.set_partition(0);
  env.set_sequence(sequence);
  *env.mutable_occurred_time() = ToProto(occurred);
  env.mutable_payload()->set_value(payload.SerializeAsString());
  return env;
}

class SupervisionAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("supervision");
    eventstore::Options o;
    o.service = "supervision";
    o.path = dir_ + "/store";
    o.partitions = 4;
    o.clock = &clock_;
    store_ = *eventstore::EventStore::Open(o);
    replica_ = std::make_unique<registry::RegistryReplica>(store_.get());
    for (const auto& env : reg::TestRegistryEnvelopes()) {
      ASSERT_TRUE(store_->Append(*replica_->Effects(env)).ok());
      replica_->OnApplied(env);
    }
    app_ = std::make_unique<SupervisionApp>(store_.get(), replica_.get(),
                                            SupervisionPolicy(),
                                            EvaluationWeights(), &clock_);
  }
  // Applies a source's event as its follower would.
  template <typename T>
  void Deliver(const T& payload, const std::string& source,
               const common::v1::Actor& actor = common::v1::Actor()) {
    auto env = Envelope(payload, source, ++sequence_[source], clock_.Now());
    *env.mutable_actor() = actor;
    auto effects = source == "intake" ? app_->IntakeEffects(env)
                                      : app_->DispatchEffects(env);
    ASSERT_TRUE(effects.ok()) << effects.status();
    effects->consumed.push_back({source, 0, env.sequence()});
    ASSERT_TRUE(store_->Append(*effects).ok());
  }
  void Report(const std::string& case_id) {
    intake::v1::ReportReceived r;
    r.set_case_id(case_id);
    r.set_source(intake::v1::REPORT_SOURCE_HOTLINE_12345);
    r.set_category_code(reg::kRubbish);
    r.set_area_code(reg::kGrid);
    r.set_reporter_subject("12345-gateway");
    *r.mutable_received_time() = ToProto(clock_.Now());
    Deliver(r, "intake");
  }
  uint64_t Events() const {
    uint64_t n = 0;
    for (uint64_t h : store_->Heads()) n += h;
    return n;
  }

  std::string dir_;
  FakeClock clock_{Local(2024, 9, 23, 10, 0)};
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<registry::RegistryReplica> replica_;
  std::unique_ptr<SupervisionApp> app_;
  std::map<std::string, uint64_t> sequence_;
  const common::v1::Actor sup1_ = Person(common::v1::ROLE_SUPERVISOR, "sup-1");
  const common::v1::Actor lead_ =
      Person(common::v1::ROLE_SHIFT_LEADER, "lead-1");
};

TEST_F(SupervisionAppTest, AReportOpensTheCaseFileOnce) {
  Report("C1");
  const uint64_t after_first = Events();
  Report("C1");  // redelivered (another sequence, same report)
  EXPECT_EQ(Events(), after_first);
  auto c = app_->GetCase("C1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->status(), v1::CASE_STATUS_VERIFYING);
  EXPECT_EQ(c->open311_status(), "open");
  EXPECT_EQ(app_->GetCase("C9").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SupervisionAppTest, RefusedCommandsWriteNothingRetriesApplyOnce) {
  Report("C1");
  const uint64_t before = Events();
  v1::FileCaseRequest file;
  file.set_request_id("f1");
  file.set_case_id("C1");
  file.set_urgency(v1::URGENCY_ORDINARY);
  file.set_filing_criterion("visible");
  // Not verified yet: illegal transition.
  EXPECT_EQ(app_->File(lead_, file).status().code(),
            absl::StatusCode::kFailedPrecondition);
  v1::VerifyCaseRequest verify;
  verify.set_request_id("v1");
  verify.set_case_id("C1");
  verify.set_confirmed(true);
  EXPECT_EQ(
      status::DeniedRule(
          app_->Verify(Person(common::v1::ROLE_SUPERVISOR, "sup-9"), verify)
              .status()),
      "supervisor_of_area");
  EXPECT_EQ(Events(), before);
  auto verified = app_->Verify(sup1_, verify);
  ASSERT_TRUE(verified.ok()) << verified.status();
  const uint64_t after = Events();
  auto again = app_->Verify(sup1_, verify);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Events(), after);
  EXPECT_EQ(again->positions(0).sequence(), verified->positions(0).sequence());
  auto filed = app_->File(lead_, file);
  ASSERT_TRUE(filed.ok()) << filed.status();
  EXPECT_EQ(filed->status(), v1::CASE_STATUS_FILED);
  // The verify's retry, after the case moved on, is still the first answer.
  again = app_->Verify(sup1_, verify);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->SerializeAsString(), verified->SerializeAsString());
}

TEST_F(SupervisionAppTest, VoidingADuplicateLinksBothCasesAtomically) {
  Report("C1");
  Report("C2");
  v1::VoidCaseRequest r;
  r.set_case_id("C2");
  r.set_duplicate_of("C1");
  r.set_reason("same heap");
  auto voided = app_->Void(lead_, r);
  ASSERT_TRUE(voided.ok()) << voided.status();
  auto survivor = app_->GetCaseRecord("C1");
  ASSERT_EQ(survivor->merged_duplicates_size(), 1);
  EXPECT_EQ(survivor->merged_duplicates(0), "C2");
  EXPECT_EQ(app_->GetCase("C2")->fixmystreet_status(), "duplicate");
  // Both streams moved in one append: the same command, one result.
  auto c1 = store_->ReadStream("case/C1");
  auto c2 = store_->ReadStream("case/C2");
  ASSERT_EQ(c1->size(), 2u);
  ASSERT_EQ(c2->size(), 2u);
  EXPECT_EQ(store_->Decode(c1->back())->command_id(),
            store_->Decode(c2->back())->command_id());
  r.set_case_id("C3");
  EXPECT_EQ(app_->Void(lead_, r).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SupervisionAppTest, DispatchFactsAreNotedAndCounted) {
  Report("C1");
  v1::VerifyCaseRequest verify;
  verify.set_case_id("C1");
  verify.set_confirmed(true);
  ASSERT_TRUE(app_->Verify(sup1_, verify).ok());
  v1::FileCaseRequest file;
  file.set_case_id("C1");
  file.set_urgency(v1::URGENCY_ORDINARY);
  file.set_filing_criterion("visible");
  ASSERT_TRUE(app_->File(lead_, file).ok());
  dispatch::v1::TaskDispatched d;
  d.set_task_id("task/C1/1");
  d.set_case_id("C1");
  d.set_attempt(1);
  d.set_department(reg::kSanitation);
  *d.mutable_due_time() = ToProto(Local(2024, 9, 23, 15, 30));
  Deliver(d, "dispatch");
  dispatch::v1::TaskAccepted accepted;
  accepted.set_task_id("task/C1/1");
  accepted.set_department(reg::kSanitation);
  Deliver(accepted, "dispatch");
  clock_.Set(Local(2024, 9, 23, 16, 0));
  dispatch::v1::TaskOverdue overdue;
  overdue.set_task_id("task/C1/1");
  overdue.set_case_id("C1");
  overdue.set_department(reg::kSanitation);
  *overdue.mutable_due_time() = d.due_time();
  Deliver(overdue, "dispatch");
  auto c = app_->GetCase("C1");
  EXPECT_EQ(c->department(), reg::kSanitation);
  EXPECT_TRUE(c->overdue());
  EXPECT_EQ(FromProto(c->due_time()), Local(2024, 9, 23, 15, 30));
  // The timeline has intake's, supervision's and dispatch's events.
  auto timeline = app_->GetCaseTimeline("C1");
  ASSERT_TRUE(timeline.ok());
  std::set<std::string> services;
  for (const auto& e : timeline->entries())
    services.insert(e.position().service());
  EXPECT_EQ(services,
            (std::set<std::string>{"intake", "supervision", "dispatch"}));
  // The window of the day counts one dispatch, one response, one overdue
  // and one task due (at 15:30); the next day's window counts none.
  v1::GetEvaluationRequest q;
  *q.mutable_start_time() = ToProto(Local(2024, 9, 23, 0, 0));
  *q.mutable_end_time() = ToProto(Local(2024, 9, 24, 0, 0));
  auto day = app_->GetEvaluation(q);
  ASSERT_TRUE(day.ok()) << day.status();
  std::map<std::string, int64_t> counters;
  for (const auto& s : day->scores())
    if (s.subject() == absl::StrCat("department/", reg::kSanitation))
      counters = {s.counters().begin(), s.counters().end()};
  EXPECT_EQ(counters["dispatched"], 1);
  EXPECT_EQ(counters["responded"], 1);
  EXPECT_EQ(counters["overdue"], 1);
  EXPECT_EQ(counters["due"], 1);
  *q.mutable_start_time() = ToProto(Local(2024, 9, 24, 0, 0));
  *q.mutable_end_time() = ToProto(Local(2024, 9, 25, 0, 0));
  EXPECT_EQ(app_->GetEvaluation(q)->scores_size(), 0);
  // A window must be one.
  *q.mutable_end_time() = q.start_time();
  EXPECT_EQ(status::ViolatedField(app_->GetEvaluation(q).status()), "end_time");
}

TEST_F(SupervisionAppTest, ListCasesFiltersAndPages) {
  for (int i = 1; i <= 5; ++i) Report(absl::StrCat("C", i));
  v1::ListCasesRequest q;
  q.set_area_code(reg::kCommunity);
  q.set_page_size(2);
  std::vector<std::string> seen;
  do {
    auto page = app_->ListCases(q);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& c : page->cases()) seen.push_back(c.case_id());
    q.set_page_token(page->next_page_token());
  } while (!q.page_token().empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"C1", "C2", "C3", "C4", "C5"}));
  q.set_page_token("");
  q.set_area_code("999");
  EXPECT_EQ(app_->ListCases(q)->cases_size(), 0);
  q.set_area_code("");
  q.set_status(v1::CASE_STATUS_CLOSED);
  EXPECT_EQ(app_->ListCases(q)->cases_size(), 0);
  q.set_status(v1::CASE_STATUS_UNSPECIFIED);
  q.set_page_size(-1);
  EXPECT_EQ(status::ViolatedField(app_->ListCases(q).status()), "page_size");
}

}  // namespace
}  // namespace wangge::supervision
