#include "services/common/eventstore/timer_index.h"

#include "absl/time/clock.h"
#include "services/common/clock/time_key.h"

namespace wangge::eventstore {

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> DueTimers(
    const EventStore& store, const std::string& projection, absl::Time now,
    size_t max) {
  std::vector<std::pair<std::string, std::string>> due;
  absl::Status s = store.ScanProjectionRange(
      projection, "", TimeKey(now + absl::Microseconds(1), ""),
      [&](const std::string& key, const std::string&) {
        if (due.size() >= max) return false;
        due.emplace_back(key, TimeKeyId(key));
        return true;
      });
  if (!s.ok()) return s;
  return due;
}

void MoveTimer(const std::string& projection, const std::string& id,
               absl::Time before, absl::Time after,
               std::vector<ProjectionWrite>* writes) {
  if (before == after) return;
  if (before != absl::InfiniteFuture()) {
    writes->push_back({projection, TimeKey(before, id), std::nullopt});
  }
  if (after != absl::InfiniteFuture()) {
    writes->push_back({projection, TimeKey(after, id), ""});
  }
}

void TimerThread::Start() {
  if (running_.exchange(true)) return;
  thread_ = std::thread([this] {
    while (running_.load()) {
      auto fired = fire_(batch_);
      if (fired.ok() && *fired >= batch_) {
        std::this_thread::yield();
        continue;
      }
      absl::SleepFor(idle_);
    }
  });
}

void TimerThread::Stop() {
  if (!running_.exchange(false)) return;
  if (thread_.joinable()) thread_.join();
}

}  // namespace wangge::eventstore
