#include "services/supervision/domain/case.h"

#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/registry/domain/test_registry.h"

namespace wangge::supervision {
namespace {

namespace reg = registry::testing;
using reg::Local;

common::v1::Actor Person(common::v1::Role role, const std::string& subject,
                         const std::string& department = "") {
  common::v1::Actor a;
  a.set_subject(subject);
  a.set_role(role);
  a.set_department(department);
  return a;
}
const auto kSup1 = Person(common::v1::ROLE_SUPERVISOR, "sup-1");
const auto kSup2 = Person(common::v1::ROLE_SUPERVISOR, "sup-2");
const auto kLead = Person(common::v1::ROLE_SHIFT_LEADER, "lead-1");
const auto kAgent = Person(common::v1::ROLE_FOLLOW_UP_AGENT, "agent-1");

class CaseTest : public ::testing::Test {
 protected:
  void Open(intake::v1::ReportSource source,
            const std::string& reporter = "citizen-app") {
    intake::v1::ReportReceived r;
    r.set_case_id("C1");
    r.set_source(source);
    r.set_category_code(reg::kRubbish);
    r.set_area_code(reg::kGrid);
    r.set_reporter_subject(reporter);
    r.set_reporter_contact_ciphertext("x");
    *r.mutable_received_time() = ToProto(t0_);
    auto e = DecideOpen(registry_, policy_, r, t0_);
    ASSERT_TRUE(e.ok()) << e.status();
    ASSERT_EQ(e->stream_id, "case/C1");
    ASSERT_TRUE(*Evolve(case_, *e->event, t0_));
  }
  // Evolves the case's events as recorded at `at` (t0 unless said).
  void Apply(const absl::StatusOr<std::vector<Emitted>>& events,
             absl::Time at) {
    ASSERT_TRUE(events.ok()) << events.status();
    for (const auto& e : *events) {
      if (e.stream_id != CaseStream("C1")) continue;
      ASSERT_TRUE(Evolve(case_, *e.event, at).ok());
    }
  }
  void Apply(const absl::StatusOr<std::vector<Emitted>>& events) {
    Apply(events, t0_);
  }
  void Dispatched(const std::string& task_id) {
    dispatch::v1::TaskDispatched d;
    d.set_task_id(task_id);
    d.set_attempt(std::stoi(task_id.substr(task_id.rfind('/') + 1)));
    d.set_case_id("C1");
    d.set_department(reg::kSanitation);
    *d.mutable_due_time() = ToProto(t0_ + absl::Hours(4));
    Apply(DecideNote(case_, d, common::v1::Actor()));
    ASSERT_EQ(case_.task_id(), task_id);
  }
  void Handled(const std::string& handler = "han-1") {
    dispatch::v1::TaskHandled h;
    h.set_task_id(case_.task_id());
    h.set_case_id("C1");
    h.set_department(reg::kSanitation);
    h.set_handler_subject(handler);
    h.set_result("swept");
    Apply(DecideHandlingReported(case_, h, registry_, policy_, t0_));
    ASSERT_EQ(case_.status(), v1::CASE_STATUS_HANDLED);
  }
  // Opened by the public, verified, filed, dispatched, handled.
  void ToHandled() {
    Open(intake::v1::REPORT_SOURCE_PUBLIC_APP);
    Apply(DecideVerify(case_, kSup1, true, {}, "", t0_));
    Apply(DecideFile(case_, kLead, v1::URGENCY_ORDINARY, "visible", registry_,
                     policy_, t0_));
    Dispatched("task/C1/1");
    Handled();
  }

  absl::Time t0_ = Local(2024, 9, 23, 10, 0);
  registry::RegistryState registry_ = reg::TestRegistry();
  SupervisionPolicy policy_;
  v1::CaseRecord case_;
};

TEST_F(CaseTest, PublicReportsAreVerifiedSupervisorReportsAreNot) {
  Open(intake::v1::REPORT_SOURCE_PUBLIC_APP);
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_VERIFYING);
  EXPECT_EQ(FromProto(case_.opened().verification_due_time()),
            t0_ + absl::Minutes(60));
  ASSERT_EQ(case_.opened().verification_assignees_size(), 2);
  EXPECT_EQ(case_.opened().verification_assignees(0), "sup-1");
  EXPECT_TRUE(case_.opened().follow_up());
  case_.Clear();
  Open(intake::v1::REPORT_SOURCE_SUPERVISOR, "sup-1");
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_AWAITING_FILING);
  EXPECT_FALSE(case_.opened().follow_up());
}

TEST_F(CaseTest, VerifyByASupervisorOfTheArea) {
  Open(intake::v1::REPORT_SOURCE_HOTLINE_12345);
  auto outsider = DecideVerify(
      case_, Person(common::v1::ROLE_SUPERVISOR, "sup-9"), true, {}, "", t0_);
  EXPECT_EQ(status::DeniedRule(outsider.status()), "supervisor_of_area");
  EXPECT_EQ(status::DeniedRule(
                DecideVerify(case_, kLead, true, {}, "", t0_).status()),
            "supervisor_only");
  EXPECT_EQ(status::ViolatedField(
                DecideVerify(case_, kSup1, false, {}, "", t0_).status()),
            "note");
  EXPECT_EQ(status::ViolatedField(
                DecideVerify(case_, kSup1, true, {"zz"}, "", t0_).status()),
            "evidence_sha256[0]");
  // Kept for ever: bounded.
  EXPECT_EQ(status::ViolatedField(
                DecideVerify(case_, kSup1, true,
                             std::vector<std::string>(21, std::string(64, 'a')),
                             "", t0_)
                    .status()),
            "evidence_sha256");
  EXPECT_EQ(status::ViolatedField(DecideVerify(case_, kSup1, false, {},
                                               std::string(6001, 'x'), t0_)
                                      .status()),
            "note");
  auto late = DecideVerify(case_, kSup1, true, {std::string(64, 'a')}, "",
                           t0_ + absl::Minutes(61));
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(
      static_cast<const v1::CaseVerified&>(*(*late)[0].event).on_time());
  Apply(late);
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_AWAITING_FILING);
  EXPECT_EQ(DecideVerify(case_, kSup1, true, {}, "", t0_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(CaseTest, TheReceptionistSendsOneSupervisor) {
  Open(intake::v1::REPORT_SOURCE_HOTLINE_12345);
  const auto receptionist = Person(common::v1::ROLE_RECEPTIONIST, "rec-1");
  EXPECT_EQ(status::DeniedRule(DecideAssignVerification(case_, kLead, "sup-2",
                                                        registry_, policy_, t0_)
                                   .status()),
            "receptionist_only");
  EXPECT_EQ(status::ViolatedField(DecideAssignVerification(case_, receptionist,
                                                           "lead-1", registry_,
                                                           policy_, t0_)
                                      .status()),
            "supervisor_id");
  auto late = DecideAssignVerification(case_, receptionist, "sup-2", registry_,
                                       policy_, t0_ + absl::Minutes(11));
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_FALSE(static_cast<const v1::VerificationAssigned&>(*(*late)[0].event)
                   .on_time());
  Apply(late);
  // Now only sup-2 verifies.
  EXPECT_EQ(status::DeniedRule(
                DecideVerify(case_, kSup1, true, {}, "", t0_).status()),
            "supervisor_of_area");
  EXPECT_TRUE(DecideVerify(case_, kSup2, true, {}, "", t0_).ok());
}

TEST_F(CaseTest, RefutedReportCannotBeFiled) {
  Open(intake::v1::REPORT_SOURCE_PUBLIC_APP);
  Apply(DecideVerify(case_, kSup1, false, {}, "nothing there", t0_));
  EXPECT_EQ(DecideFile(case_, kLead, v1::URGENCY_ORDINARY, "visible", registry_,
                       policy_, t0_)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  Apply(DecideVoid(case_, kLead, "false report", "", nullptr));
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_VOIDED);
  EXPECT_EQ(FixMyStreetStatus(case_), "closed");
}

TEST_F(CaseTest, FileNeedsTheShiftLeaderUrgencyAndACriterionOfTheClass) {
  Open(intake::v1::REPORT_SOURCE_SUPERVISOR, "sup-1");
  EXPECT_EQ(status::DeniedRule(DecideFile(case_, kSup1, v1::URGENCY_ORDINARY,
                                          "visible", registry_, policy_, t0_)
                                   .status()),
            "shift_leader_only");
  EXPECT_EQ(
      status::ViolatedField(DecideFile(case_, kLead, v1::URGENCY_UNSPECIFIED,
                                       "visible", registry_, policy_, t0_)
                                .status()),
      "urgency");
  EXPECT_EQ(status::ViolatedField(DecideFile(case_, kLead, v1::URGENCY_ORDINARY,
                                             "smell", registry_, policy_, t0_)
                                      .status()),
            "filing_criterion");
  // A class whose only limit is for emergencies (event/04 in the demo
  // catalogue): filed as ordinary, dispatch could set no deadline.
  {
    registry::RegistryState emergency_only = registry_;
    for (auto& p : emergency_only.policies) {
      for (auto& cls : *p.mutable_classes()) {
        if (cls.code() != reg::kRubbish) continue;
        cls.clear_limits();
        auto* l = cls.add_limits();
        l->set_urgency("emergency");
        l->set_minutes(60);
      }
    }
    EXPECT_EQ(status::ViolatedField(DecideFile(case_, kLead,
                                               v1::URGENCY_ORDINARY, "visible",
                                               emergency_only, policy_, t0_)
                                        .status()),
              "urgency");
    EXPECT_TRUE(DecideFile(case_, kLead, v1::URGENCY_EMERGENCY, "visible",
                           emergency_only, policy_, t0_)
                    .ok());
  }
  auto filed = DecideFile(case_, kLead, v1::URGENCY_URGENT, "visible",
                          registry_, policy_, t0_);
  ASSERT_TRUE(filed.ok());
  EXPECT_EQ((*filed)[0].policy_version, "policy-2024");
  const auto& e = static_cast<const v1::CaseFiled&>(*(*filed)[0].event);
  EXPECT_EQ(e.urgency(), "urgent");
  EXPECT_EQ(e.area_code(), reg::kGrid);
  Apply(filed);
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_FILED);
  EXPECT_EQ(FixMyStreetStatus(case_), "action scheduled");
  EXPECT_EQ(DecideFile(case_, kLead, v1::URGENCY_URGENT, "visible", registry_,
                       policy_, t0_)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DecideReject(case_, kLead, "out_of_scope").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DecideVoid(case_, kLead, "x", "", nullptr).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(CaseTest, FilingOnTimeCountsFromReadiness) {
  Open(intake::v1::REPORT_SOURCE_PUBLIC_APP);
  // Verified 20 minutes after the report: ready to file from then, so the
  // 30 minutes run to t0+50 (counted from the report they would end at
  // t0+30).
  const absl::Time ready = t0_ + absl::Minutes(20);
  Apply(DecideVerify(case_, kSup1, true, {}, "", ready), ready);
  EXPECT_EQ(FromProto(case_.awaiting_filing_since()), ready);
  auto on_time = [&](v1::Urgency urgency, absl::Duration after_ready) {
    auto filed = DecideFile(case_, kLead, urgency, "visible", registry_,
                            policy_, ready + after_ready);
    EXPECT_TRUE(filed.ok()) << filed.status();
    return filed.ok() &&
           static_cast<const v1::CaseFiled&>(*(*filed)[0].event).on_time();
  };
  EXPECT_TRUE(on_time(v1::URGENCY_ORDINARY, absl::Minutes(30)));
  EXPECT_FALSE(on_time(v1::URGENCY_ORDINARY, absl::Minutes(31)));
  // Emergencies get ten minutes.
  EXPECT_TRUE(on_time(v1::URGENCY_EMERGENCY, absl::Minutes(10)));
  EXPECT_FALSE(on_time(v1::URGENCY_EMERGENCY, absl::Minutes(11)));
}

TEST_F(CaseTest, RejectNeedsAKnownReasonCode) {
  Open(intake::v1::REPORT_SOURCE_SUPERVISOR, "sup-1");
  EXPECT_EQ(
      status::ViolatedField(DecideReject(case_, kLead, "boring").status()),
      "reason_code");
  Apply(DecideReject(case_, kLead, "not_in_jurisdiction"));
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_NOT_ACCEPTED);
  EXPECT_EQ(Open311Status(case_), "closed");
  EXPECT_EQ(FixMyStreetStatus(case_), "not responsible");
}

TEST_F(CaseTest, VoidAsDuplicateLinksBothCasesInOneDecision) {
  Open(intake::v1::REPORT_SOURCE_PUBLIC_APP);
  v1::CaseRecord survivor;
  survivor.mutable_opened()->set_case_id("C0");
  survivor.set_status(v1::CASE_STATUS_FILED);
  EXPECT_EQ(status::ViolatedField(
                DecideVoid(case_, kLead, "dup", "C1", &case_).status()),
            "duplicate_of");
  EXPECT_EQ(status::ViolatedField(
                DecideVoid(case_, kLead, "dup", "C9", nullptr).status()),
            "duplicate_of");
  EXPECT_EQ(
      status::ViolatedField(DecideVoid(case_, kLead, "", "", nullptr).status()),
      "reason");
  auto voided = DecideVoid(case_, kLead, "same manhole", "C0", &survivor);
  ASSERT_TRUE(voided.ok());
  ASSERT_EQ(voided->size(), 2u);
  EXPECT_EQ((*voided)[0].stream_id, "case/C1");
  EXPECT_EQ((*voided)[1].stream_id, "case/C0");
  ASSERT_TRUE(*Evolve(survivor, *(*voided)[1].event, t0_));
  EXPECT_EQ(survivor.merged_duplicates(0), "C1");
  Apply(voided);
  EXPECT_EQ(case_.duplicate_of(), "C0");
  EXPECT_EQ(FixMyStreetStatus(case_), "duplicate");
  // A voided case cannot be a survivor.
  v1::CaseRecord other = case_;
  other.mutable_opened()->set_case_id("C2");
  other.set_status(v1::CASE_STATUS_AWAITING_FILING);
  EXPECT_EQ(status::ViolatedField(
                DecideVoid(other, kLead, "dup", "C1", &case_).status()),
            "duplicate_of");
}

TEST_F(CaseTest, HandlingOfASupersededTaskIsIgnored) {
  ToHandled();
  dispatch::v1::TaskHandled old;
  old.set_task_id("task/C1/0");
  auto none = DecideHandlingReported(case_, old, registry_, policy_, t0_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(CaseTest, CheckerIsNeverHandlerDepartmentOrReporter) {
  // The reporter is sup-2 (a supervisor of the area).
  Open(intake::v1::REPORT_SOURCE_SUPERVISOR, "sup-2");
  Apply(DecideFile(case_, kLead, v1::URGENCY_ORDINARY, "visible", registry_,
                   policy_, t0_));
  Dispatched("task/C1/1");
  Handled("sup-1");  // absurd but possible: the same person handled it
  EXPECT_EQ(
      status::DeniedRule(
          DecideCheck(case_, kSup1, true, {}, "", registry_, t0_).status()),
      "checker_is_handler");
  EXPECT_EQ(
      status::DeniedRule(
          DecideCheck(case_, kSup2, true, {}, "", registry_, t0_).status()),
      "checker_is_reporter");
  // A handler of the handling department, even with a supervisor's role.
  EXPECT_EQ(status::DeniedRule(
                DecideCheck(case_, Person(common::v1::ROLE_SUPERVISOR, "han-1"),
                            true, {}, "", registry_, t0_)
                    .status()),
            "checker_of_handling_department");
  EXPECT_EQ(status::DeniedRule(DecideCheck(case_,
                                           Person(common::v1::ROLE_SUPERVISOR,
                                                  "x", reg::kSanitation),
                                           true, {}, "", registry_, t0_)
                                   .status()),
            "checker_of_handling_department");
  EXPECT_EQ(status::DeniedRule(
                DecideCheck(case_, Person(common::v1::ROLE_SUPERVISOR, "sup-9"),
                            true, {}, "", registry_, t0_)
                    .status()),
            "supervisor_of_area");
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_HANDLED);
}

TEST_F(CaseTest, FailedCheckOrdersReworkForTheSameDepartment) {
  ToHandled();
  EXPECT_EQ(
      status::ViolatedField(
          DecideCheck(case_, kSup2, false, {}, "", registry_, t0_).status()),
      "note");
  auto failed =
      DecideCheck(case_, kSup2, false, {}, "still dirty", registry_, t0_);
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 2u);
  const auto& rework =
      static_cast<const v1::CaseReworkOrdered&>(*(*failed)[1].event);
  EXPECT_EQ(rework.department(), reg::kSanitation);
  EXPECT_EQ(rework.rework_count(), 1u);
  Apply(failed);
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_FILED);
  EXPECT_EQ(case_.rework_count(), 1u);
  // Closing needs a passing check.
  EXPECT_EQ(DecideClose(case_, kLead, v1::CLOSING_TYPE_NORMAL).status().code(),
            absl::StatusCode::kFailedPrecondition);
  Dispatched("task/C1/2");
  Handled();
  Apply(DecideCheck(case_, kSup2, true, {}, "", registry_, t0_));
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_CHECK_PASSED);
}

TEST_F(CaseTest, CloseTypeMustMatchTheOverdueRecord) {
  ToHandled();
  dispatch::v1::TaskOverdue overdue;
  overdue.set_task_id("task/C2/1");  // another case's: nothing to note
  EXPECT_TRUE(DecideNote(case_, overdue, common::v1::Actor())->empty());
  overdue.set_task_id("task/C1/1");
  Apply(DecideNote(case_, overdue, common::v1::Actor()));
  EXPECT_TRUE(case_.overdue());
  // Noted once.
  EXPECT_TRUE(DecideNote(case_, overdue, common::v1::Actor())->empty());
  Apply(DecideCheck(case_, kSup2, true, {}, "", registry_, t0_));
  EXPECT_EQ(status::DeniedRule(
                DecideClose(case_, kSup1, v1::CLOSING_TYPE_OVERDUE).status()),
            "shift_leader_only");
  EXPECT_EQ(status::ViolatedField(
                DecideClose(case_, kLead, v1::CLOSING_TYPE_NORMAL).status()),
            "closing_type");
  EXPECT_EQ(
      status::ViolatedField(
          DecideClose(case_, kLead, v1::CLOSING_TYPE_UNSPECIFIED).status()),
      "closing_type");
  Apply(DecideClose(case_, kLead, v1::CLOSING_TYPE_OVERDUE));
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_CLOSED);
  EXPECT_EQ(FixMyStreetStatus(case_), "fixed");
  EXPECT_EQ(CaseView(case_).open311_status(), "closed");
  EXPECT_EQ(CaseView(case_).task_id(), "task/C1/1");
}

// A send-back approved after the deadline: task 1's TaskOverdue and task 2's
// TaskDispatched are in one append but on two partitions, read in either
// order. The case is overdue both ways.
TEST_F(CaseTest, AnOldTasksOverdueCountsInEitherReadingOrder) {
  Open(intake::v1::REPORT_SOURCE_SUPERVISOR, "sup-1");
  Dispatched("task/C1/1");
  const v1::CaseRecord dispatched = case_;
  dispatch::v1::TaskOverdue overdue;
  overdue.set_task_id("task/C1/1");
  overdue.set_case_id("C1");
  dispatch::v1::TaskDispatched second;
  second.set_task_id("task/C1/2");
  second.set_attempt(2);
  second.set_case_id("C1");
  second.set_reason("send_back");

  Apply(DecideNote(case_, second, common::v1::Actor()));
  Apply(DecideNote(case_, overdue, common::v1::Actor()));
  const v1::CaseRecord dispatch_first = case_;

  case_ = dispatched;
  Apply(DecideNote(case_, overdue, common::v1::Actor()));
  Apply(DecideNote(case_, second, common::v1::Actor()));
  EXPECT_TRUE(case_.overdue());
  EXPECT_EQ(dispatch_first.overdue(), case_.overdue());
  EXPECT_EQ(dispatch_first.task_id(), "task/C1/2");
  EXPECT_EQ(case_.task_id(), "task/C1/2");
}

TEST_F(CaseTest, FollowUpAfterTheAuditedContactReadAndReopen) {
  ToHandled();
  Apply(DecideCheck(case_, kSup2, true, {}, "", registry_, t0_));
  EXPECT_EQ(DecideFollowUp(case_, kAgent, v1::SATISFACTION_SATISFIED, true, "",
                           policy_)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);  // not closed yet
  Apply(DecideClose(case_, kLead, v1::CLOSING_TYPE_NORMAL));
  // The contact was not read through intake yet.
  EXPECT_EQ(DecideFollowUp(case_, kAgent, v1::SATISFACTION_SATISFIED, true, "",
                           policy_)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  intake::v1::ReporterContactRevealed r;
  r.set_case_id("C1");
  Apply(DecideNote(case_, r, kAgent));
  EXPECT_EQ(case_.contact_revealed_to(0), "agent-1");
  EXPECT_EQ(status::DeniedRule(DecideFollowUp(case_, kLead,
                                              v1::SATISFACTION_SATISFIED, true,
                                              "", policy_)
                                   .status()),
            "follow_up_agent_only");
  EXPECT_EQ(status::ViolatedField(DecideFollowUp(case_, kAgent,
                                                 v1::SATISFACTION_UNSPECIFIED,
                                                 true, "", policy_)
                                      .status()),
            "satisfaction");
  auto unhappy = DecideFollowUp(case_, kAgent, v1::SATISFACTION_UNSATISFIED,
                                false, "still there", policy_);
  ASSERT_TRUE(unhappy.ok());
  ASSERT_EQ(unhappy->size(), 2u);
  Apply(unhappy);
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_FILED);
  EXPECT_EQ(case_.reopen_count(), 1u);
  EXPECT_EQ(FixMyStreetStatus(case_), "reopened");
}

TEST_F(CaseTest, SatisfiedFollowUpDoesNotReopenAndHappensOnce) {
  ToHandled();
  Apply(DecideCheck(case_, kSup2, true, {}, "", registry_, t0_));
  Apply(DecideClose(case_, kLead, v1::CLOSING_TYPE_NORMAL));
  case_.add_contact_revealed_to("agent-1");
  auto ok = DecideFollowUp(case_, kAgent, v1::SATISFACTION_UNSATISFIED, true,
                           "", policy_);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 1u);  // solved: no reopen
  Apply(ok);
  EXPECT_EQ(case_.status(), v1::CASE_STATUS_CLOSED);
  EXPECT_EQ(DecideFollowUp(case_, kAgent, v1::SATISFACTION_SATISFIED, true, "",
                           policy_)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(CaseTest, ForeignEventsAreNotedOnlyWhenTheyStateSomething) {
  Open(intake::v1::REPORT_SOURCE_SUPERVISOR, "sup-1");
  dispatch::v1::TaskAccepted accepted;
  EXPECT_TRUE(DecideNote(case_, accepted, common::v1::Actor())->empty());
  Dispatched("task/C1/1");
  dispatch::v1::ExtensionDecided refused;
  refused.set_task_id("task/C1/1");
  EXPECT_TRUE(DecideNote(case_, refused, common::v1::Actor())->empty());
  dispatch::v1::ExtensionDecided approved = refused;
  approved.set_approved(true);
  *approved.mutable_due_time() = ToProto(t0_ + absl::Hours(30));
  Apply(DecideNote(case_, approved, common::v1::Actor()));
  EXPECT_EQ(FromProto(case_.due_time()), t0_ + absl::Hours(30));
  // A task read late (another partition) does not supersede a newer one.
  Dispatched("task/C1/3");
  dispatch::v1::TaskDispatched older;
  older.set_task_id("task/C1/2");
  older.set_attempt(2);
  EXPECT_TRUE(DecideNote(case_, older, common::v1::Actor())->empty());
  // Only supervision's own events fold into a case.
  common::v1::EventEnvelope foreign;
  foreign.set_event_type("wangge.dispatch.v1.TaskAccepted");
  EXPECT_FALSE(Evolve(case_, foreign).ok());
  EXPECT_FALSE(*Evolve(case_, accepted, t0_));
}

}  // namespace
}  // namespace wangge::supervision
