#include "services/dispatch/domain/task.h"

#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/registry/domain/test_registry.h"

namespace wangge::dispatch {
namespace {

using registry::testing::Local;
namespace reg = registry::testing;

common::v1::Actor Handler(const std::string& department,
                          const std::string& subject = "han-1") {
  common::v1::Actor a;
  a.set_subject(subject);
  a.set_role(common::v1::ROLE_DEPARTMENT_HANDLER);
  a.set_department(department);
  return a;
}

common::v1::Actor Dispatcher() {
  common::v1::Actor a;
  a.set_subject("disp-1");
  a.set_role(common::v1::ROLE_DISPATCHER);
  return a;
}

class TaskTest : public ::testing::Test {
 protected:
  // Dispatches a case of `category` at `now`, folding the event into task_.
  void Dispatch(const std::string& category, absl::Time now,
                const std::string& urgency = "ordinary") {
    CaseToDispatch c;
    c.case_id = "C1";
    c.category_code = category;
    c.area_code = reg::kGrid;
    c.urgency = urgency;
    c.reason = "filed";
    auto e = DecideDispatch(registry_, c, now);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->stream_id, "task/C1/1");
    EXPECT_EQ(e->policy_version, "policy-2024");
    Apply({*e}, now);
  }
  void Apply(const std::vector<Emitted>& events, absl::Time at) {
    for (const auto& e : events) {
      if (e.stream_id != task_.dispatched().task_id() &&
          task_.has_dispatched()) {
        continue;  // another task's stream (a re-dispatch)
      }
      ASSERT_TRUE(Evolve(task_, *e.event, at).ok());
    }
  }
  template <typename T>
  static const T& As(const Emitted& e) {
    return static_cast<const T&>(*e.event);
  }

  registry::RegistryState registry_ = reg::TestRegistry();
  v1::TaskRecord task_;
};

TEST_F(TaskTest, DispatchRoutesByClassAndSchedulesInWorkingTime) {
  // Monday 10:00, 4 working hours: lunch is not counted.
  Dispatch(reg::kRubbish, Local(2024, 9, 23, 10, 0));
  EXPECT_EQ(task_.dispatched().department(), reg::kSanitation);
  EXPECT_FALSE(task_.dispatched().locality_fallback());
  EXPECT_EQ(FromProto(task_.due_time()), Local(2024, 9, 23, 15, 30));
  // 80% of 240 min = 192 min: 10:00 + 2 h to lunch, 72 min after 13:30.
  EXPECT_EQ(FromProto(task_.yellow_time()), Local(2024, 9, 23, 14, 42));
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_DISPATCHED);
}

TEST_F(TaskTest, WeekendHolidayAndMakeUpDay) {
  // Friday 16:30 + 4 h: 1 h Friday, then Monday 9:00-12:00.
  Dispatch(reg::kRubbish, Local(2024, 9, 20, 16, 30));
  EXPECT_EQ(FromProto(task_.due_time()), Local(2024, 9, 23, 12, 0));
  // Monday 30 Sep 17:00: the National Day week is off; Tuesday 8 Oct.
  Dispatch(reg::kRubbish, Local(2024, 9, 30, 17, 0));
  EXPECT_EQ(FromProto(task_.due_time()), Local(2024, 10, 8, 14, 0));
  // (30 min on Monday, 3 h on the morning of the 8th, 30 min after lunch.)
  // Friday 27 Sep 16:30: Sunday 29 is a make-up working day.
  Dispatch(reg::kRubbish, Local(2024, 9, 27, 16, 30));
  EXPECT_EQ(FromProto(task_.due_time()), Local(2024, 9, 29, 12, 0));
}

TEST_F(TaskTest, EmergencyCountsTheWallClock) {
  // A missing manhole cover at 23:00 on a holiday: two hours, at night.
  Dispatch(reg::kManhole, Local(2024, 10, 1, 23, 0), "emergency");
  EXPECT_EQ(FromProto(task_.due_time()), Local(2024, 10, 2, 1, 0));
  EXPECT_EQ(FromProto(task_.yellow_time()), Local(2024, 10, 2, 0, 36));
  // No municipal department: the locality fallback (属地兜底) takes it.
  EXPECT_EQ(task_.dispatched().department(), reg::kStreetOffice);
  EXPECT_TRUE(task_.dispatched().locality_fallback());
  // A class without an emergency limit: its ordinary 4 hours, but on the
  // wall clock (not 4 working hours after the holiday week).
  Dispatch(reg::kRubbish, Local(2024, 10, 1, 23, 0), "emergency");
  EXPECT_EQ(FromProto(task_.due_time()), Local(2024, 10, 2, 3, 0));
  EXPECT_FALSE(task_.dispatched().working_time());
}

TEST_F(TaskTest, AcceptOnlyByTheOwnDepartmentAndOnce) {
  Dispatch(reg::kRubbish, Local(2024, 9, 23, 10, 0));
  auto wrong = DecideAccept(task_, Handler(reg::kGreenery), absl::Now());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status::DeniedRule(wrong.status()), "own_department_only");
  auto dispatcher = DecideAccept(task_, Dispatcher(), absl::Now());
  EXPECT_EQ(status::DeniedRule(dispatcher.status()), "own_department_only");
  auto ok = DecideAccept(task_, Handler(reg::kSanitation), absl::Now());
  ASSERT_TRUE(ok.ok());
  Apply(*ok, absl::Now());
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_ACCEPTED);
  EXPECT_EQ(DecideAccept(task_, Handler(reg::kSanitation), absl::Now())
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(TaskTest, SendBackNeedsAReasonAndTheDispatcherRedispatches) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);
  Dispatch(reg::kRubbish, t0);
  auto no_reason = DecideRequest(task_, Handler(reg::kSanitation),
                                 RequestKind::kSendBack, "", 0, t0);
  EXPECT_EQ(status::ViolatedField(no_reason.status()), "reason");
  // Kept for ever: bounded.
  EXPECT_EQ(
      status::ViolatedField(DecideRequest(task_, Handler(reg::kSanitation),
                                          RequestKind::kSendBack,
                                          std::string(6001, 'x'), 0, t0)
                                .status()),
      "reason");
  auto asked = DecideRequest(task_, Handler(reg::kSanitation),
                             RequestKind::kSendBack, "greenery's", 0, t0);
  ASSERT_TRUE(asked.ok());
  Apply(*asked, t0);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_SEND_BACK_REQUESTED);
  // A handler cannot rule; the dispatcher must name where it goes.
  EXPECT_EQ(status::DeniedRule(DecideRuling(task_, Handler(reg::kSanitation),
                                            true, "", "x", registry_, t0)
                                   .status()),
            "command_centre_only");
  EXPECT_EQ(status::ViolatedField(
                DecideRuling(task_, Dispatcher(), true, "", "", registry_, t0)
                    .status()),
            "redispatch_department");
  EXPECT_EQ(status::ViolatedField(
                DecideRuling(task_, Dispatcher(), false, "", "", registry_, t0)
                    .status()),
            "reason");
  const absl::Time t1 = Local(2024, 9, 23, 11, 0);
  auto approved = DecideRuling(task_, Dispatcher(), true, "", reg::kGreenery,
                               registry_, t1);
  ASSERT_TRUE(approved.ok()) << approved.status();
  ASSERT_EQ(approved->size(), 2u);
  EXPECT_TRUE(As<v1::SendBackDecided>((*approved)[0]).approved());
  const auto& next = As<v1::TaskDispatched>((*approved)[1]);
  EXPECT_EQ((*approved)[1].stream_id, "task/C1/2");
  EXPECT_EQ(next.department(), reg::kGreenery);
  EXPECT_EQ(next.reason(), "send_back");
  EXPECT_EQ(FromProto(next.dispatched_time()), t1);
  Apply(*approved, t1);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_SENT_BACK);
  EXPECT_TRUE(DecideTimers(task_, Local(2025, 1, 1, 0, 0)).empty());
}

TEST_F(TaskTest, RefusedRequestRestoresTheStateBefore) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);
  Dispatch(reg::kRubbish, t0);
  Apply(*DecideAccept(task_, Handler(reg::kSanitation), t0), t0);
  Apply(*DecideRequest(task_, Handler(reg::kSanitation), RequestKind::kSendBack,
                       "not ours", 0, t0),
        t0);
  // Nothing else while a request is pending.
  EXPECT_EQ(DecideRequest(task_, Handler(reg::kSanitation),
                          RequestKind::kShelving, "x", 0, t0)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  Apply(*DecideRuling(task_, Dispatcher(), false, "it is yours", "", registry_,
                      t0),
        t0);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_ACCEPTED);
}

TEST_F(TaskTest, ExtensionForbiddenByClassAllowedOtherwise) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);
  Dispatch(reg::kRubbish, t0);
  auto forbidden = DecideRequest(task_, Handler(reg::kSanitation),
                                 RequestKind::kExtension, "rain", 60, t0);
  EXPECT_EQ(forbidden.status().code(), absl::StatusCode::kFailedPrecondition);

  // Greenery care: 5 working days from Monday 23 Sep 10:00 -> Sunday 29
  // (make-up day) 10:00... extended by one working day (420 min).
  Dispatch(reg::kGreeneryCare, t0);
  EXPECT_EQ(task_.dispatched().department(), reg::kGreenery);
  EXPECT_EQ(FromProto(task_.due_time()), Local(2024, 9, 29, 10, 0));
  auto no_minutes = DecideRequest(task_, Handler(reg::kGreenery),
                                  RequestKind::kExtension, "rain", 0, t0);
  EXPECT_EQ(status::ViolatedField(no_minutes.status()), "extension_minutes");
  // A minute after the deadline, no timer applied yet: too late to ask.
  EXPECT_EQ(
      DecideRequest(task_, Handler(reg::kGreenery), RequestKind::kExtension,
                    "rain", 420, Local(2024, 9, 29, 10, 1))
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  Apply(*DecideRequest(task_, Handler(reg::kGreenery), RequestKind::kExtension,
                       "rain", 420, t0),
        t0);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_EXTENSION_REQUESTED);
  Apply(*DecideRuling(task_, Dispatcher(), true, "", "", registry_, t0), t0);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_DISPATCHED);
  // One working day after Sunday 29 10:00 is Monday 30 10:00.
  EXPECT_EQ(FromProto(task_.due_time()), Local(2024, 9, 30, 10, 0));
  EXPECT_EQ(task_.extensions(), 1u);
}

TEST_F(TaskTest, ShelvingStopsTheClockAndRestoringStartsIt) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);  // due 15:30
  Dispatch(reg::kRubbish, t0);
  Apply(*DecideAccept(task_, Handler(reg::kSanitation), t0), t0);
  const absl::Time t1 = Local(2024, 9, 23, 11, 0);
  Apply(*DecideRequest(task_, Handler(reg::kSanitation), RequestKind::kShelving,
                       "needs excavation", 0, t1),
        t1);
  Apply(*DecideRuling(task_, Dispatcher(), true, "", "", registry_, t1), t1);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_SHELVED);
  // 11:00 -> 15:30 is 3 working hours (lunch excluded).
  EXPECT_EQ(task_.remaining_seconds(), 180 * 60);
  // Shelved: no timer fires, even long after the old due time.
  EXPECT_TRUE(DecideTimers(task_, Local(2024, 11, 1, 9, 0)).empty());
  EXPECT_EQ(NextTimer(task_), absl::InfiniteFuture());
  EXPECT_EQ(status::DeniedRule(
                DecideRestore(task_, Handler(reg::kSanitation), registry_, t1)
                    .status()),
            "command_centre_only");
  // Restored Friday 1 Nov 16:00: 1.5 h Friday, 1.5 h on Monday 4 Nov.
  const absl::Time t2 = Local(2024, 11, 1, 16, 0);
  auto restored = DecideRestore(task_, Dispatcher(), registry_, t2);
  ASSERT_TRUE(restored.ok()) << restored.status();
  Apply(*restored, t2);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_ACCEPTED);
  EXPECT_EQ(FromProto(task_.due_time()), Local(2024, 11, 4, 10, 30));
  EXPECT_EQ(DecideRestore(task_, Dispatcher(), registry_, t2).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Shelved before anyone signed for it: restored to DISPATCHED, and the
  // department still accepts it (the response rate counts that).
  Dispatch(reg::kRubbish, t0);
  Apply(*DecideRequest(task_, Handler(reg::kSanitation), RequestKind::kShelving,
                       "needs excavation", 0, t1),
        t1);
  Apply(*DecideRuling(task_, Dispatcher(), true, "", "", registry_, t1), t1);
  Apply(*DecideRestore(task_, Dispatcher(), registry_, t2), t2);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_DISPATCHED);
  Apply(*DecideAccept(task_, Handler(reg::kSanitation), t2), t2);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_ACCEPTED);
}

TEST_F(TaskTest, TimersFireOncePerSchedule) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);
  Dispatch(reg::kRubbish, t0);
  EXPECT_TRUE(DecideTimers(task_, Local(2024, 9, 23, 14, 41)).empty());
  EXPECT_EQ(NextTimer(task_), Local(2024, 9, 23, 14, 42));
  auto yellow = DecideTimers(task_, Local(2024, 9, 23, 14, 42));
  ASSERT_EQ(yellow.size(), 1u);
  EXPECT_EQ(yellow[0].event->GetDescriptor(),
            v1::TaskYellowWarning::descriptor());
  Apply(yellow, Local(2024, 9, 23, 14, 42));
  EXPECT_TRUE(DecideTimers(task_, Local(2024, 9, 23, 15, 0)).empty());
  EXPECT_EQ(TaskView(task_, Local(2024, 9, 23, 15, 0)).colour(),
            v1::STAGE_COLOUR_YELLOW);
  auto overdue = DecideTimers(task_, Local(2024, 9, 23, 15, 30));
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].event->GetDescriptor(), v1::TaskOverdue::descriptor());
  Apply(overdue, Local(2024, 9, 23, 15, 30));
  EXPECT_TRUE(task_.overdue());
  EXPECT_TRUE(DecideTimers(task_, Local(2024, 12, 1, 0, 0)).empty());
  EXPECT_EQ(TaskView(task_, Local(2024, 9, 23, 16, 0)).colour(),
            v1::STAGE_COLOUR_RED);
  // Late handling is recorded as not on time.
  Apply(*DecideAccept(task_, Handler(reg::kSanitation), t0), t0);
  auto handled = DecideReportHandled(task_, Handler(reg::kSanitation), "swept",
                                     {}, Local(2024, 9, 23, 16, 0));
  ASSERT_TRUE(handled.ok());
  EXPECT_FALSE(As<v1::TaskHandled>((*handled)[0]).on_time());
}

TEST_F(TaskTest, HandledPastTheDeadlineBeforeTheTimerFiredIsNotedOverdue) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);  // due 15:30
  Dispatch(reg::kRubbish, t0);
  Apply(*DecideAccept(task_, Handler(reg::kSanitation), t0), t0);
  // 15:31, the timer thread behind: the report still notes the deadline.
  const absl::Time late = Local(2024, 9, 23, 15, 31);
  auto handled =
      DecideReportHandled(task_, Handler(reg::kSanitation), "swept", {}, late);
  ASSERT_TRUE(handled.ok()) << handled.status();
  ASSERT_EQ(handled->size(), 3u);
  EXPECT_EQ((*handled)[0].event->GetDescriptor(),
            v1::TaskYellowWarning::descriptor());
  EXPECT_EQ((*handled)[1].event->GetDescriptor(),
            v1::TaskOverdue::descriptor());
  EXPECT_FALSE(As<v1::TaskHandled>((*handled)[2]).on_time());
  Apply(*handled, late);
  EXPECT_TRUE(task_.overdue());
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_HANDLED);
  // At the deadline itself the task is overdue, so not on time.
  Dispatch(reg::kRubbish, t0);
  Apply(*DecideAccept(task_, Handler(reg::kSanitation), t0), t0);
  handled = DecideReportHandled(task_, Handler(reg::kSanitation), "swept", {},
                                Local(2024, 9, 23, 15, 30));
  ASSERT_TRUE(handled.ok());
  ASSERT_EQ(handled->size(), 3u);
  EXPECT_EQ((*handled)[1].event->GetDescriptor(),
            v1::TaskOverdue::descriptor());
  EXPECT_FALSE(As<v1::TaskHandled>((*handled)[2]).on_time());
  // In time, the report is all there is.
  Dispatch(reg::kRubbish, t0);
  Apply(*DecideAccept(task_, Handler(reg::kSanitation), t0), t0);
  handled = DecideReportHandled(task_, Handler(reg::kSanitation), "swept", {},
                                Local(2024, 9, 23, 11, 0));
  ASSERT_TRUE(handled.ok());
  EXPECT_EQ(handled->size(), 1u);
}

TEST_F(TaskTest, BothTimersAtOnceAfterALongOutage) {
  Dispatch(reg::kRubbish, Local(2024, 9, 23, 10, 0));
  auto both = DecideTimers(task_, Local(2024, 9, 24, 10, 0));
  ASSERT_EQ(both.size(), 2u);
  Apply(both, Local(2024, 9, 24, 10, 0));
  EXPECT_TRUE(DecideTimers(task_, Local(2024, 9, 25, 10, 0)).empty());
}

TEST_F(TaskTest, ReportHandledNeedsAResultAndValidEvidence) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);
  Dispatch(reg::kRubbish, t0);
  // Accepted (签收) first.
  EXPECT_EQ(
      DecideReportHandled(task_, Handler(reg::kSanitation), "done", {}, t0)
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
  Apply(*DecideAccept(task_, Handler(reg::kSanitation), t0), t0);
  EXPECT_EQ(
      status::ViolatedField(
          DecideReportHandled(task_, Handler(reg::kSanitation), "", {}, t0)
              .status()),
      "note");
  EXPECT_EQ(status::ViolatedField(DecideReportHandled(task_,
                                                      Handler(reg::kSanitation),
                                                      "done", {"abc"}, t0)
                                      .status()),
            "evidence_sha256[0]");
  // Long enough, but not a hex digest.
  EXPECT_EQ(
      status::ViolatedField(
          DecideReportHandled(task_, Handler(reg::kSanitation), "done",
                              {std::string(64, 'a'), std::string(64, 'z')}, t0)
              .status()),
      "evidence_sha256[1]");
  EXPECT_EQ(
      status::DeniedRule(
          DecideReportHandled(task_, Handler(reg::kGreenery), "done", {}, t0)
              .status()),
      "own_department_only");
  auto handled = DecideReportHandled(task_, Handler(reg::kSanitation), "done",
                                     {std::string(64, 'a')}, t0);
  ASSERT_TRUE(handled.ok());
  const auto& e = As<v1::TaskHandled>((*handled)[0]);
  EXPECT_EQ(e.handler_subject(), "han-1");
  EXPECT_TRUE(e.on_time());
  Apply(*handled, t0);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_HANDLED);
  EXPECT_EQ(DecideRequest(task_, Handler(reg::kSanitation),
                          RequestKind::kSendBack, "late", 0, t0)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DecideRuling(task_, Dispatcher(), true, "", "", registry_, t0)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(TaskTest, EvolveFromEnvelopeRefusesForeignTypes) {
  common::v1::EventEnvelope env;
  env.set_event_type("wangge.supervision.v1.CaseFiled");
  EXPECT_FALSE(Evolve(task_, env).ok());
  env.set_event_type("wangge.dispatch.v1.TaskAccepted");
  v1::TaskAccepted accepted;
  accepted.set_task_id("task/C1/1");
  env.mutable_payload()->set_value(accepted.SerializeAsString());
  EXPECT_TRUE(Evolve(task_, env).ok());
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_ACCEPTED);
}

}  // namespace
}  // namespace wangge::dispatch

namespace wangge::dispatch {
namespace {

TEST_F(TaskTest, NoExtensionOnceTheDeadlinePassedWhileItWaited) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);
  Dispatch(reg::kGreeneryCare, t0);  // due Sunday 29 (make-up day) 10:00
  Apply(*DecideRequest(task_, Handler(reg::kGreenery), RequestKind::kExtension,
                       "rain", 420, t0),
        t0);
  const absl::Time late = Local(2024, 9, 30, 9, 0);
  auto fired = DecideTimers(task_, late);
  ASSERT_EQ(fired.size(), 2u);  // yellow and overdue while pending
  // Past the deadline before the timer fired: no extension asked or granted.
  EXPECT_EQ(DecideRuling(task_, Dispatcher(), true, "", "", registry_, late)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  Apply(fired, late);
  EXPECT_EQ(DecideRuling(task_, Dispatcher(), true, "", "", registry_, late)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  Apply(*DecideRuling(task_, Dispatcher(), false, "too late", "", registry_,
                      late),
        late);
  EXPECT_EQ(task_.status(), v1::TASK_STATUS_DISPATCHED);
  EXPECT_TRUE(task_.overdue());
}

TEST_F(TaskTest, SendBackOnlyToAKnownDepartment) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);
  Dispatch(reg::kRubbish, t0);
  Apply(*DecideRequest(task_, Handler(reg::kSanitation), RequestKind::kSendBack,
                       "not ours", 0, t0),
        t0);
  EXPECT_EQ(status::ViolatedField(DecideRuling(task_, Dispatcher(), true, "",
                                               "dept-nowhere", registry_, t0)
                                      .status()),
            "redispatch_department");
}

// A rework goes back to the case's department; if the policy in force no
// longer has it, the case is routed again rather than left with no task.
// A department someone names (a dispatcher's re-dispatch) must exist.
TEST_F(TaskTest, AReworkWhoseDepartmentIsGoneIsRoutedAgain) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);
  CaseToDispatch c;
  c.case_id = "C1";
  c.category_code = reg::kRubbish;
  c.area_code = reg::kGrid;
  c.urgency = "ordinary";
  c.attempt = 2;
  c.department = "dept-dissolved";
  c.reason = "rework";
  auto rework = DecideDispatch(registry_, c, t0);
  ASSERT_TRUE(rework.ok()) << rework.status();
  EXPECT_EQ(As<v1::TaskDispatched>(*rework).department(), reg::kSanitation);
  c.reason = "send_back";
  EXPECT_EQ(status::ViolatedField(DecideDispatch(registry_, c, t0).status()),
            "department");
}

}  // namespace
}  // namespace wangge::dispatch

namespace wangge::dispatch {
namespace {

TEST_F(TaskTest, RulingsRecordWhetherTheyCameInTime) {
  const absl::Time t0 = Local(2024, 9, 23, 10, 0);
  Dispatch(reg::kRubbish, t0);
  Apply(*DecideRequest(task_, Handler(reg::kSanitation), RequestKind::kShelving,
                       "excavation", 0, t0),
        t0);
  auto late = DecideRuling(task_, Dispatcher(), false, "no", "", registry_,
                           t0 + absl::Minutes(31));
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(As<v1::ShelvingDecided>((*late)[0]).on_time());
  auto in_time = DecideRuling(task_, Dispatcher(), false, "no", "", registry_,
                              t0 + absl::Minutes(30));
  EXPECT_TRUE(As<v1::ShelvingDecided>((*in_time)[0]).on_time());
}

}  // namespace
}  // namespace wangge::dispatch
