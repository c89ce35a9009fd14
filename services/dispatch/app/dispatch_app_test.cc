#include "services/dispatch/app/dispatch_app.h"

#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/common/testing/test_support.h"
#include "services/registry/domain/test_registry.h"
#include "wangge/supervision/v1/events.pb.h"

namespace wangge::dispatch {
namespace {

namespace reg = registry::testing;
using reg::Local;

common::v1::Actor Handler(const std::string& department) {
  common::v1::Actor a;
  a.set_subject("han-1");
  a.set_role(common::v1::ROLE_DEPARTMENT_HANDLER);
  a.set_department(department);
  return a;
}

template <typename T>
common::v1::EventEnvelope Envelope(const T& payload, uint64_t sequence) {
  common::v1::EventEnvelope env;
  env.set_event_id(absl::StrCat("ev-", sequence));
  env.set_event_type(payload.GetDescriptor()->full_name());
  env.set_source_service("supervision");
  env.set_partition(0);
  env.set_sequence(sequence);
  env.mutable_payload()->set_value(payload.SerializeAsString());
  return env;
}

supervision::v1::CaseFiled Filed(const std::string& case_id) {
  supervision::v1::CaseFiled f;
  f.set_case_id(case_id);
  f.set_urgency("ordinary");
  f.set_category_code(reg::kRubbish);
  f.set_area_code(reg::kGrid);
  return f;
}

class DispatchAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("dispatch");
    Open();
  }
  void Open(eventstore::Durability durability = eventstore::Durability::kSync) {
    app_.reset();
    replica_.reset();
    store_.reset();
    eventstore::Options o;
    o.service = "dispatch";
    o.path = dir_ + "/store";
    o.partitions = 4;
    o.durability = durability;
    o.clock = &clock_;
    store_ = *eventstore::EventStore::Open(o);
    replica_ = std::make_unique<registry::RegistryReplica>(store_.get());
    ASSERT_TRUE(replica_->Load().ok());
    if (replica_->Read([](const auto& s) { return s.policies.empty(); })) {
      for (const auto& env : reg::TestRegistryEnvelopes()) {
        ASSERT_TRUE(store_->Append(*replica_->Effects(env)).ok());
        replica_->OnApplied(env);
      }
    }
    app_ = std::make_unique<DispatchApp>(store_.get(), replica_.get(),
                                         DispatchOptions(), &clock_);
  }
  // Delivers a supervision event as the follower would.
  void Deliver(const common::v1::EventEnvelope& env) {
    auto effects = app_->SupervisionEffects(env);
    ASSERT_TRUE(effects.ok()) << effects.status();
    effects->consumed.push_back({"supervision", 0, env.sequence()});
    auto appended = store_->Append(*effects);
    ASSERT_TRUE(appended.ok()) << appended.status();
  }
  uint64_t Events() const {
    uint64_t n = 0;
    for (uint64_t h : store_->Heads()) n += h;
    return n;
  }
  v1::TaskActionRequest Action(const std::string& task_id,
                               const std::string& request_id = "") {
    v1::TaskActionRequest r;
    r.set_task_id(task_id);
    r.set_request_id(request_id);
    return r;
  }

  std::string dir_;
  FakeClock clock_{Local(2024, 9, 23, 10, 0)};
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<registry::RegistryReplica> replica_;
  std::unique_ptr<DispatchApp> app_;
};

TEST_F(DispatchAppTest, FiledCaseIsDispatchedOnceIntoTheDepartmentsQueue) {
  Deliver(Envelope(Filed("C1"), 1));
  auto task = app_->GetTask("task/C1/1");
  ASSERT_TRUE(task.ok()) << task.status();
  EXPECT_EQ(task->department(), reg::kSanitation);
  EXPECT_EQ(task->status(), v1::TASK_STATUS_DISPATCHED);
  EXPECT_EQ(FromProto(task->due_time()), Local(2024, 9, 23, 15, 30));
  EXPECT_EQ(task->colour(), v1::STAGE_COLOUR_GREEN);
  // The event records the policy version it applied.
  auto stored = store_->ReadStream("task/C1/1");
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(store_->Decode((*stored)[0])->policy_version(), "policy-2024");
  // A second delivery of the same filing dispatches nothing.
  const uint64_t before = Events();
  Deliver(Envelope(Filed("C1"), 2));
  EXPECT_EQ(Events(), before);
  auto queue = app_->ListWorkQueue(reg::kSanitation, 0, "");
  ASSERT_TRUE(queue.ok());
  ASSERT_EQ(queue->tasks_size(), 1);
  EXPECT_EQ(queue->tasks(0).task_id(), "task/C1/1");
  EXPECT_EQ(app_->ListWorkQueue(reg::kGreenery, 0, "")->tasks_size(), 0);
}

TEST_F(DispatchAppTest, WrongDepartmentWritesNothingAndRetriesApplyOnce) {
  Deliver(Envelope(Filed("C1"), 1));
  const uint64_t before = Events();
  auto denied = app_->Act(Handler(reg::kGreenery), TaskAction::kAccept,
                          Action("task/C1/1", "r1"));
  EXPECT_EQ(status::DeniedRule(denied.status()), "own_department_only");
  EXPECT_EQ(Events(), before);
  auto first = app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                         Action("task/C1/1", "r1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->status(), v1::TASK_STATUS_ACCEPTED);
  const uint64_t after = Events();
  auto retry = app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                         Action("task/C1/1", "r1"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(Events(), after);
  EXPECT_EQ(retry->positions(0).sequence(), first->positions(0).sequence());
  // After the task moved on, a retry is still the first answer (ACCEPTED).
  auto handled = Action("task/C1/1", "h1");
  handled.set_note("swept");
  ASSERT_TRUE(
      app_->Act(Handler(reg::kSanitation), TaskAction::kReportHandled, handled)
          .ok());
  retry = app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                    Action("task/C1/1", "r1"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->SerializeAsString(), first->SerializeAsString());
  EXPECT_EQ(app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                      Action("task/nope/1"))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(DispatchAppTest, TheWorkQueuePagesFromItsToken) {
  for (int i = 1; i <= 5; ++i) {
    Deliver(Envelope(Filed(absl::StrCat("C", i)), i));
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = app_->ListWorkQueue(reg::kSanitation, 2, token);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_LE(page->tasks_size(), 2);
    for (const auto& t : page->tasks()) seen.push_back(t.task_id());
    token = page->next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 5u);
}

TEST_F(DispatchAppTest, ReworkGoesToTheSameDepartmentAsTheNextTask) {
  Deliver(Envelope(Filed("C1"), 1));
  ASSERT_TRUE(app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                        Action("task/C1/1"))
                  .ok());
  auto handled = Action("task/C1/1");
  handled.set_note("swept");
  ASSERT_TRUE(
      app_->Act(Handler(reg::kSanitation), TaskAction::kReportHandled, handled)
          .ok());
  // Handled tasks leave the queue.
  EXPECT_EQ(app_->ListWorkQueue(reg::kSanitation, 0, "")->tasks_size(), 0);
  supervision::v1::CaseReworkOrdered rework;
  rework.set_case_id("C1");
  rework.set_department(reg::kSanitation);
  rework.set_rework_count(1);
  Deliver(Envelope(rework, 2));
  auto next = app_->GetTask("task/C1/2");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->department(), reg::kSanitation);
  EXPECT_EQ(next->rework_count(), 1u);
  auto record = app_->GetTaskRecord("task/C1/2");
  EXPECT_EQ(record->dispatched().reason(), "rework");
  EXPECT_EQ(app_->ListWorkQueue(reg::kSanitation, 0, "")->tasks_size(), 1);
}

TEST_F(DispatchAppTest, TimersFireOnceAlsoAcrossARestart) {
  Deliver(Envelope(Filed("C1"), 1));
  Deliver(Envelope(Filed("C2"), 2));
  // Nothing is due yet.
  EXPECT_EQ(*app_->FireDueTimers(100), 0u);
  // Yellow at 14:42 for both.
  clock_.Set(Local(2024, 9, 23, 14, 45));
  EXPECT_EQ(*app_->FireDueTimers(100), 2u);
  EXPECT_EQ(*app_->FireDueTimers(100), 0u);
  EXPECT_EQ(app_->GetTask("task/C1/1")->colour(), v1::STAGE_COLOUR_YELLOW);
  // Handled in time: C2 will not go overdue.
  ASSERT_TRUE(app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                        Action("task/C2/1"))
                  .ok());
  auto handled = Action("task/C2/1");
  handled.set_note("done");
  ASSERT_TRUE(
      app_->Act(Handler(reg::kSanitation), TaskAction::kReportHandled, handled)
          .ok());
  // The service stops before the deadline and starts again after it.
  Open();
  clock_.Set(Local(2024, 9, 24, 9, 0));
  EXPECT_EQ(*app_->FireDueTimers(100), 1u);
  EXPECT_EQ(*app_->FireDueTimers(100), 0u);
  Open();
  EXPECT_EQ(*app_->FireDueTimers(100), 0u);
  auto task = app_->GetTaskRecord("task/C1/1");
  EXPECT_TRUE(task->overdue());
  int overdue = 0;
  auto events = store_->ReadStream("task/C1/1");
  ASSERT_TRUE(events.ok());
  for (const auto& e : *events) {
    overdue +=
        store_->Decode(e)->event_type() == "wangge.dispatch.v1.TaskOverdue";
  }
  EXPECT_EQ(overdue, 1);
  EXPECT_FALSE(app_->GetTaskRecord("task/C2/1")->overdue());
  // The overdue backlog: C1, until it is handled.
  EXPECT_EQ(*app_->OverdueBacklog(), 1u);
  ASSERT_TRUE(app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                        Action("task/C1/1"))
                  .ok());
  EXPECT_EQ(*app_->OverdueBacklog(), 1u);
  auto late = Action("task/C1/1");
  late.set_note("done, late");
  ASSERT_TRUE(
      app_->Act(Handler(reg::kSanitation), TaskAction::kReportHandled, late)
          .ok());
  EXPECT_EQ(*app_->OverdueBacklog(), 0u);
}

TEST_F(DispatchAppTest, ShelvedTaskDoesNotFireAndRestoredOneDoes) {
  Deliver(Envelope(Filed("C1"), 1));
  ASSERT_TRUE(app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                        Action("task/C1/1"))
                  .ok());
  auto shelve = Action("task/C1/1");
  shelve.set_reason("needs excavation");
  ASSERT_TRUE(
      app_->Act(Handler(reg::kSanitation), TaskAction::kRequestShelving, shelve)
          .ok());
  common::v1::Actor dispatcher;
  dispatcher.set_subject("disp-1");
  dispatcher.set_role(common::v1::ROLE_DISPATCHER);
  v1::DecideRequestRequest approve;
  approve.set_task_id("task/C1/1");
  approve.set_decision(v1::DECISION_APPROVE);
  auto shelved = app_->Decide(dispatcher, approve);
  ASSERT_TRUE(shelved.ok()) << shelved.status();
  EXPECT_EQ(shelved->status(), v1::TASK_STATUS_SHELVED);
  clock_.Set(Local(2024, 11, 1, 16, 0));
  EXPECT_EQ(*app_->FireDueTimers(100), 0u);
  ASSERT_TRUE(
      app_->Act(dispatcher, TaskAction::kRestore, Action("task/C1/1")).ok());
  // Shelved at 10:00 with 4 h left (to 15:30, less lunch): 1.5 h on
  // Friday, 2.5 h on Monday.
  EXPECT_EQ(FromProto(app_->GetTask("task/C1/1")->due_time()),
            Local(2024, 11, 4, 11, 30));
  clock_.Set(Local(2024, 11, 4, 11, 30));
  EXPECT_EQ(*app_->FireDueTimers(100), 1u);
  EXPECT_TRUE(app_->GetTaskRecord("task/C1/1")->overdue());
}

// 100,000 timers due at one instant: a command submitted while they fire
// completes before the batch is done (ordering, not timing: the command's
// event lands in its partition before that partition's last TaskOverdue).
TEST_F(DispatchAppTest, CommandsOvertakeAFloodOfTimers) {
  Open(eventstore::Durability::kAsync);
  constexpr int kTasks = 100000;
  for (int i = 0; i < kTasks; i += 1000) {
    eventstore::AppendRequest batch;
    for (int j = i; j < i + 1000; ++j) {
      auto effects = app_->SupervisionEffects(
          Envelope(Filed(absl::StrCat("F", j)), j + 1));
      ASSERT_TRUE(effects.ok());
      for (auto& s : effects->streams) batch.streams.push_back(std::move(s));
      for (auto& w : effects->projection_writes)
        batch.projection_writes.push_back(std::move(w));
    }
    ASSERT_TRUE(store_->Append(std::move(batch)).ok());
  }
  // One task dispatched later, not due: the command's target.
  clock_.Set(Local(2024, 9, 23, 16, 0));
  Deliver(Envelope(Filed("LATE"), 1));
  app_->StartTimers();
  while (app_->timers_fired() == 0) absl::SleepFor(absl::Milliseconds(1));
  auto accepted = app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                            Action("task/LATE/1"));
  const uint64_t fired_when_done = app_->timers_fired();
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_LT(fired_when_done, static_cast<uint64_t>(kTasks));
  while (app_->timers_fired() < kTasks) absl::SleepFor(absl::Milliseconds(5));
  app_->StopTimers();
  const auto& p = accepted->positions(0);
  EXPECT_LT(p.sequence(), store_->Head(p.partition()));
  // Every timer fired exactly once: 100,000 overdue events (and as many
  // yellow warnings, in the same appends), none twice.
  EXPECT_EQ(app_->timers_fired(), static_cast<uint64_t>(kTasks));
  EXPECT_EQ(*app_->FireDueTimers(kTasks), 0u);
  uint64_t overdue = 0, yellow = 0;
  for (int part = 0; part < store_->partitions(); ++part) {
    auto events = store_->ReadPartition(part, 1, store_->Head(part));
    ASSERT_TRUE(events.ok());
    for (const auto& e : *events) {
      auto env = store_->Decode(e);
      ASSERT_TRUE(env.ok());
      if (env->event_type() == "wangge.dispatch.v1.TaskOverdue") ++overdue;
      if (env->event_type() == "wangge.dispatch.v1.TaskYellowWarning") ++yellow;
    }
  }
  EXPECT_EQ(overdue, static_cast<uint64_t>(kTasks));
  EXPECT_EQ(yellow, static_cast<uint64_t>(kTasks));
  EXPECT_TRUE(app_->GetTaskRecord("task/F99999/1")->overdue());
}

}  // namespace
}  // namespace wangge::dispatch

namespace wangge::dispatch {
namespace {

TEST_F(DispatchAppTest, ARequestIdIsPerTask) {
  Deliver(Envelope(Filed("C1"), 1));
  Deliver(Envelope(Filed("C2"), 2));
  ASSERT_TRUE(app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                        Action("task/C1/1", "r1"))
                  .ok());
  auto second = app_->Act(Handler(reg::kSanitation), TaskAction::kAccept,
                          Action("task/C2/1", "r1"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(app_->GetTask("task/C2/1")->status(), v1::TASK_STATUS_ACCEPTED);
}

}  // namespace
}  // namespace wangge::dispatch
