#include "services/audit/deadlines.h"

#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/dispatch/domain/task.h"
#include "services/registry/domain/test_registry.h"
#include "wangge/dispatch/v1/events.pb.h"

namespace wangge::audit {
namespace {

namespace dv = dispatch::v1;
namespace reg = registry::testing;

class DeadlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& e : reg::TestRegistryEnvelopes()) checker_.Add(e);
  }
  // Dispatch's own decision for case `id` at `at` (a Monday morning: four
  // working hours end the same day).
  dv::TaskDispatched Dispatch(const std::string& id, absl::Time at,
                              std::string* version) {
    dispatch::CaseToDispatch c;
    c.case_id = id;
    c.category_code = reg::kRubbish;
    c.area_code = reg::kGrid;
    c.urgency = "ordinary";
    c.reason = "filed";
    auto e = dispatch::DecideDispatch(reg::TestRegistry(), c, at);
    EXPECT_TRUE(e.ok()) << e.status();
    *version = e->policy_version;
    return static_cast<const dv::TaskDispatched&>(*e->event);
  }
  void Add(const google::protobuf::Message& payload, const std::string& stream,
           absl::Time occurred, const std::string& version = "") {
    common::v1::EventEnvelope e;
    e.set_event_type(payload.GetDescriptor()->full_name());
    e.set_stream_id(stream);
    e.set_source_service("dispatch");
    e.set_sequence(++sequence_);
    e.set_policy_version(version);
    *e.mutable_occurred_time() = ToProto(occurred);
    e.mutable_payload()->set_value(payload.SerializeAsString());
    checker_.Add(e);
  }
  std::vector<std::string> Checks() {
    std::vector<std::string> out;
    for (const auto& v : checker_.Finish()) out.push_back(v.check);
    return out;
  }

  const absl::Time monday_ = reg::Local(2024, 9, 23, 9, 0);
  DeadlineChecker checker_;
  uint64_t sequence_ = 0;
};

TEST_F(DeadlineTest, DispatchesAndOverdueAsThePolicySaysAreClean) {
  std::string version;
  dv::TaskDispatched t = Dispatch("C1", monday_, &version);
  ASSERT_GT(FromProto(t.due_time()), monday_ + absl::Hours(4));
  Add(t, t.task_id(), monday_, version);
  dv::TaskOverdue overdue;
  overdue.set_task_id(t.task_id());
  Add(overdue, t.task_id(), FromProto(t.due_time()) + absl::Seconds(1));
  // A second task, handled in time.
  dv::TaskDispatched t2 = Dispatch("C2", monday_, &version);
  Add(t2, t2.task_id(), monday_, version);
  Add(dv::TaskHandled(), t2.task_id(), monday_ + absl::Hours(1));
  EXPECT_TRUE(Checks().empty());
}

TEST_F(DeadlineTest, AlteredDueTimeAndPolicyVersionAreCaught) {
  std::string version;
  dv::TaskDispatched t = Dispatch("C1", monday_, &version);
  *t.mutable_due_time() = ToProto(FromProto(t.due_time()) + absl::Hours(48));
  Add(t, t.task_id(), monday_, version);
  dv::TaskDispatched t2 = Dispatch("C2", monday_, &version);
  Add(t2, t2.task_id(), monday_, version + "-not-in-force");
  dv::TaskDispatched t3 = Dispatch("C3", monday_, &version);
  t3.set_limit_minutes(t3.limit_minutes() * 2);
  Add(t3, t3.task_id(), monday_, version);
  dv::TaskDispatched t4 = Dispatch("C4", monday_, &version);
  t4.set_department(reg::kGreenery);  // routing gives sanitation
  Add(t4, t4.task_id(), monday_, version);
  for (const char* id : {"C1", "C2", "C3", "C4"}) {
    dv::TaskHandled handled;
    Add(handled, std::string("task/") + id + "/1", monday_ + absl::Hours(1));
  }
  EXPECT_EQ(Checks(), (std::vector<std::string>{
                          "deadline:due_time", "deadline:policy_version",
                          "deadline:time_limit", "deadline:routing"}));
}

TEST_F(DeadlineTest, OverdueTooEarlyOrNeverIsCaught) {
  std::string version;
  dv::TaskDispatched t = Dispatch("C1", monday_, &version);
  Add(t, t.task_id(), monday_, version);
  dv::TaskOverdue early;
  early.set_task_id(t.task_id());
  Add(early, t.task_id(), monday_ + absl::Minutes(30));
  dv::TaskDispatched t2 = Dispatch("C2", monday_, &version);
  Add(t2, t2.task_id(), monday_, version);
  // The history runs on to the next day; C2's timer never fired.
  dv::TaskDispatched t3 = Dispatch("C3", monday_ + absl::Hours(24), &version);
  Add(t3, t3.task_id(), monday_ + absl::Hours(24), version);
  EXPECT_EQ(Checks(), (std::vector<std::string>{"deadline:overdue_early",
                                                "deadline:overdue_missing"}));
}

}  // namespace
}  // namespace wangge::audit
