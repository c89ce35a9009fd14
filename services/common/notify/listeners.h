#ifndef WANGGE_SERVICES_COMMON_NOTIFY_LISTENERS_H_
#define WANGGE_SERVICES_COMMON_NOTIFY_LISTENERS_H_

// Callbacks told of every change once it is durable (the watch streams:
// WatchCases, WatchWorkQueue, WatchNotices). Thread safety: every method
// may be called from any thread; listeners run on the publisher's thread
// and must not block.

#include <functional>
#include <map>
#include <vector>

#include "absl/synchronization/mutex.h"

namespace wangge::notify {

template <typename T>
class Listeners {
 public:
  using Listener = std::function<void(const T&)>;

  int Subscribe(Listener listener) {
    absl::MutexLock lock(&mu_);
    listeners_[next_] = std::move(listener);
    return next_++;
  }
  void Unsubscribe(int id) {
    absl::MutexLock lock(&mu_);
    listeners_.erase(id);
  }
  void Publish(const std::vector<T>& changed) {
    absl::MutexLock lock(&mu_);
    for (const auto& item : changed)
      for (auto& [id, listener] : listeners_) listener(item);
  }

 private:
  absl::Mutex mu_;
  std::map<int, Listener> listeners_ ABSL_GUARDED_BY(mu_);
  int next_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wangge::notify

#endif  // WANGGE_SERVICES_COMMON_NOTIFY_LISTENERS_H_
