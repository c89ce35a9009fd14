#include "services/audit/separation.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "wangge/dispatch/v1/events.pb.h"
#include "wangge/supervision/v1/events.pb.h"

namespace wangge::audit {
namespace {

namespace sv = supervision::v1;
namespace dv = dispatch::v1;

class SeparationTest : public ::testing::Test {
 protected:
  template <typename T>
  void Add(const T& payload, const std::string& stream, common::v1::Role role,
           const std::string& subject, const std::string& department = "") {
    common::v1::EventEnvelope e;
    e.set_event_type(payload.GetDescriptor()->full_name());
    e.set_stream_id(stream);
    e.set_source_service(absl::StartsWith(stream, "case/") ? "supervision"
                                                           : "dispatch");
    e.set_sequence(++sequence_);
    *e.mutable_occurred_time() = ToProto(absl::FromUnixSeconds(sequence_));
    e.mutable_actor()->set_role(role);
    e.mutable_actor()->set_subject(subject);
    e.mutable_actor()->set_department(department);
    e.mutable_payload()->set_value(payload.SerializeAsString());
    checker_.Add(e);
  }
  // A legal loop up to a forwarded result, handled by han-1 of sanitation;
  // reported by rep-1.
  void UpToHandled() {
    sv::CaseOpened opened;
    opened.set_case_id("C1");
    opened.set_reporter_subject("rep-1");
    Add(opened, "case/C1", common::v1::ROLE_SERVICE_SUPERVISION, "supervision");
    Add(sv::CaseVerified(), "case/C1", common::v1::ROLE_SUPERVISOR, "sup-1");
    Add(sv::CaseFiled(), "case/C1", common::v1::ROLE_SHIFT_LEADER, "lead-1");
    dv::TaskDispatched d;
    d.set_task_id("task/C1/1");
    d.set_case_id("C1");
    d.set_department("sanitation");
    Add(d, "task/C1/1", common::v1::ROLE_SERVICE_DISPATCH, "dispatch");
    Add(dv::TaskAccepted(), "task/C1/1", common::v1::ROLE_DEPARTMENT_HANDLER,
        "han-1", "sanitation");
    Add(dv::TaskHandled(), "task/C1/1", common::v1::ROLE_DEPARTMENT_HANDLER,
        "han-1", "sanitation");
    sv::CaseHandlingReported h;
    h.set_handler_subject("han-1");
    h.set_department("sanitation");
    Add(h, "case/C1", common::v1::ROLE_SERVICE_SUPERVISION, "supervision");
  }
  std::vector<std::string> Rules() {
    std::vector<std::string> out;
    for (const auto& v : checker_.Finish()) out.push_back(v.check);
    return out;
  }
  sv::CaseChecked Passed() {
    sv::CaseChecked c;
    c.set_passed(true);
    return c;
  }

  SeparationChecker checker_;
  uint64_t sequence_ = 0;
};

TEST_F(SeparationTest, ALegalLoopHasNoViolation) {
  UpToHandled();
  Add(Passed(), "case/C1", common::v1::ROLE_SUPERVISOR, "sup-2");
  Add(sv::CaseClosed(), "case/C1", common::v1::ROLE_SHIFT_LEADER, "lead-1");
  EXPECT_TRUE(Rules().empty());
}

TEST_F(SeparationTest, CloseWithoutAPassingCheck) {
  UpToHandled();
  sv::CaseChecked failed;
  Add(failed, "case/C1", common::v1::ROLE_SUPERVISOR, "sup-2");
  Add(sv::CaseClosed(), "case/C1", common::v1::ROLE_SHIFT_LEADER, "lead-1");
  EXPECT_EQ(Rules(),
            std::vector<std::string>{"separation:close_without_passing_check"});
}

TEST_F(SeparationTest, CheckerConflicts) {
  UpToHandled();
  Add(Passed(), "case/C1", common::v1::ROLE_SUPERVISOR, "han-1", "sanitation");
  EXPECT_EQ(Rules(), (std::vector<std::string>{
                         "separation:checker_is_handler",
                         "separation:checker_of_handling_department"}));
}

TEST_F(SeparationTest, CheckByTheReporterOrByAnotherRole) {
  UpToHandled();
  Add(Passed(), "case/C1", common::v1::ROLE_SUPERVISOR, "rep-1");
  Add(sv::CaseClosed(), "case/C1", common::v1::ROLE_DISPATCHER, "disp-1");
  EXPECT_EQ(Rules(), (std::vector<std::string>{"separation:checker_is_reporter",
                                               "separation:role"}));
}

TEST_F(SeparationTest, DispatchWithoutFilingOrFromOutsideTheCommandCentre) {
  dv::TaskDispatched d;
  d.set_task_id("task/C9/1");
  d.set_case_id("C9");
  d.set_department("sanitation");
  Add(d, "task/C9/1", common::v1::ROLE_SHIFT_LEADER, "lead-1");
  Add(dv::TaskAccepted(), "task/C9/1", common::v1::ROLE_DEPARTMENT_HANDLER,
      "han-9", "greenery");
  EXPECT_EQ(Rules(),
            (std::vector<std::string>{"separation:dispatch_by_command_centre",
                                      "separation:own_department_only",
                                      "separation:dispatch_after_filing"}));
}

}  // namespace
}  // namespace wangge::audit
