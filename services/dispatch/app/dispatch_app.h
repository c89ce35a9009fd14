#ifndef WANGGE_SERVICES_DISPATCH_APP_DISPATCH_APP_H_
#define WANGGE_SERVICES_DISPATCH_APP_DISPATCH_APP_H_

// The command centre's shell around its domain (domain/task.h): loads a
// task, decides, appends the events with the task's rows in one write.
//
// - Follows supervision's topic: CaseFiled dispatches the case's first task,
//   CaseReworkOrdered and CaseReopened the next one to the same department.
// - Rows: "tasks" (task id -> TaskRecord), "queue" (<department>/<task id>
//   -> Task, the work queue), "case_tasks" (case id -> latest task id) and
//   "timers" (<due micros>/<task id>: the durable timer index). Every row
//   is written in the same append as the events that changed it, and each
//   task append expects the task's stream version, so commands, timers and
//   the follower never overwrite each other.
// - Timers fire off the command path, in bounded batches, on a thread of
//   their own (StartTimers); each firing is a TaskYellowWarning or
//   TaskOverdue event, once per schedule, also after a restart across the
//   deadline (the index is in the store).
//
// Thread safety: every method may be called from any thread.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/common/clock/clock.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/eventstore/timer_index.h"
#include "services/common/notify/listeners.h"
#include "services/dispatch/domain/task.h"
#include "services/registry/replica/registry_replica.h"
#include "wangge/dispatch/v1/dispatch.pb.h"

namespace wangge::dispatch {

inline constexpr char kTasksProjection[] = "tasks";
inline constexpr char kQueueProjection[] = "queue";
inline constexpr char kCaseTasksProjection[] = "case_tasks";
inline constexpr char kTimersProjection[] = "timers";
inline constexpr char kCaseNoticesProjection[] = "case_notices";
// Open tasks past their deadline (task id -> department): the overdue
// backlog, small in normal operation, counted for the metrics.
inline constexpr char kOverdueProjection[] = "overdue";

struct DispatchOptions {
  // Tasks whose timers are fired per append, and per batch before the
  // timer thread lets go (commands never wait behind a flood of timers).
  size_t timers_per_append = 64;
  size_t timers_per_batch = 1024;
  absl::Duration timer_idle = absl::Milliseconds(200);
};

enum class TaskAction {
  kAccept,
  kRequestSendBack,
  kRequestExtension,
  kRequestShelving,
  kReportHandled,
  kDecide,
  kRestore,
};

class DispatchApp {
 public:
  DispatchApp(eventstore::EventStore* store,
              registry::RegistryReplica* registry, DispatchOptions options,
              const Clock* clock);
  ~DispatchApp();

  // The supervision follower's handler.
  absl::StatusOr<eventstore::AppendRequest> SupervisionEffects(
      const common::v1::EventEnvelope& env);

  // The oversight follower's handler: open notices per case, shown with
  // the case's tasks in the work queue; after_apply republishes the task.
  absl::StatusOr<eventstore::AppendRequest> OversightEffects(
      const common::v1::EventEnvelope& env);
  void OnOversightApplied(const common::v1::EventEnvelope& env);

  absl::StatusOr<v1::TaskCommandResponse> Act(
      const common::v1::Actor& actor, TaskAction action,
      const v1::TaskActionRequest& request);
  absl::StatusOr<v1::TaskCommandResponse> Decide(
      const common::v1::Actor& actor, const v1::DecideRequestRequest& request);

  absl::StatusOr<v1::Task> GetTask(const std::string& task_id) const;
  absl::StatusOr<v1::TaskRecord> GetTaskRecord(
      const std::string& task_id) const;
  // A department's open tasks (all departments when empty), by task id.
  absl::StatusOr<v1::ListWorkQueueResponse> ListWorkQueue(
      const std::string& department, int page_size,
      const std::string& page_token) const;

  // Fires the timers due at the clock's now, at most `max` tasks; returns
  // how many tasks had a timer fire.
  absl::StatusOr<size_t> FireDueTimers(size_t max);
  void StartTimers();
  void StopTimers();
  uint64_t timers_fired() const { return timers_fired_.load(); }
  // Set to observe how late timers fire (seconds after due), and each
  // TaskOverdue fired (metrics).
  std::function<void(double)> on_timer_lateness;
  std::function<void()> on_overdue;
  // Set to receive the overdue backlog (open tasks past their deadline),
  // recounted by the timer thread every `backlog_every`.
  std::function<void(size_t)> on_overdue_backlog;
  absl::Duration backlog_every = absl::Seconds(10);
  absl::StatusOr<size_t> OverdueBacklog() const;

  // Every task change, after it is durable (WatchWorkQueue).
  using Listener = std::function<void(const v1::Task&)>;
  int Subscribe(Listener listener) {
    return listeners_.Subscribe(std::move(listener));
  }
  void Unsubscribe(int id) { listeners_.Unsubscribe(id); }

 private:
  absl::StatusOr<v1::TaskRecord> Load(const std::string& task_id) const;
  // Appends `emitted` with every touched task's rows; `tasks` holds the
  // known state of each touched stream (missing: a new task).
  absl::StatusOr<eventstore::AppendRequest> Effects(
      const std::vector<Emitted>& emitted,
      std::map<std::string, v1::TaskRecord> tasks, const std::string& cause,
      absl::Time now, std::vector<v1::Task>* changed) const;
  absl::StatusOr<v1::TaskCommandResponse> Commit(
      const common::v1::Actor& actor, const std::string& command_id,
      const std::string& task_id,
      const std::function<absl::StatusOr<std::vector<Emitted>>(
          const v1::TaskRecord&, const registry::RegistryState&)>& decide);
  void Publish(const std::vector<v1::Task>& changed);
  // The task's view with the case's open oversight notices.
  absl::StatusOr<v1::Task> View(const v1::TaskRecord& task,
                                absl::Time now) const;

  eventstore::EventStore* const store_;
  registry::RegistryReplica* const registry_;
  const DispatchOptions options_;
  const Clock* const clock_;
  std::atomic<uint64_t> timers_fired_{0};
  eventstore::TimerThread timers_;
  absl::Time backlog_counted_ = absl::InfinitePast();  // timer thread only
  notify::Listeners<v1::Task> listeners_;
};

}  // namespace wangge::dispatch

#endif  // WANGGE_SERVICES_DISPATCH_APP_DISPATCH_APP_H_
