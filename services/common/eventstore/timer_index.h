#ifndef WANGGE_SERVICES_COMMON_EVENTSTORE_TIMER_INDEX_H_
#define WANGGE_SERVICES_COMMON_EVENTSTORE_TIMER_INDEX_H_

// A durable timer index kept as a projection of TimeKey rows
// ("<due>/<id>"), written in the same append as the event that set the
// schedule, and a thread that fires what is due in bounded batches, off
// the command path: dispatch's deadlines, oversight's escalations.

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/eventstore/event_store.h"

namespace wangge::eventstore {

// (row key, id) of the timers due at `now`, earliest first, at most `max`.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> DueTimers(
    const EventStore& store, const std::string& projection, absl::Time now,
    size_t max);

// The writes that move `id`'s timer from `before` to `after`
// (InfiniteFuture: none).
void MoveTimer(const std::string& projection, const std::string& id,
               absl::Time before, absl::Time after,
               std::vector<ProjectionWrite>* writes);

// Calls `fire(max)` (which returns how many it fired) until it fires fewer
// than `batch`, then sleeps `idle`; between full batches it yields, so
// commands are never queued behind a flood.
class TimerThread {
 public:
  TimerThread(std::function<absl::StatusOr<size_t>(size_t max)> fire,
              size_t batch, absl::Duration idle)
      : fire_(std::move(fire)), batch_(batch), idle_(idle) {}
  ~TimerThread() { Stop(); }
  void Start();
  void Stop();

 private:
  const std::function<absl::StatusOr<size_t>(size_t)> fire_;
  const size_t batch_;
  const absl::Duration idle_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace wangge::eventstore

#endif  // WANGGE_SERVICES_COMMON_EVENTSTORE_TIMER_INDEX_H_
