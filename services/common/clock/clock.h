#ifndef WANGGE_SERVICES_COMMON_CLOCK_CLOCK_H_
#define WANGGE_SERVICES_COMMON_CLOCK_CLOCK_H_

// The injected source of time. Services never call absl::Now() directly, so
// deadlines, escalations and overdue timers are testable with FakeClock.
//
// Thread safety: every method may be called from any thread.

#include <cstdint>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace wangge {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // The process-wide real clock.
  static Clock* Real();
};

// Development and end-to-end tests only: real time plus an offset read from
// a file ("86400" or "1.5": seconds), re-read when the file changes (its
// inode or modification time), so that a test can move separate processes
// across a deadline together. A missing file is no offset; an unreadable one
// keeps the last offset (write it by rename). The file is looked at once per
// `recheck` at most: a stat per reading cost the local stack's consumers a
// fifth of their time under load.
class OffsetFileClock final : public Clock {
 public:
  explicit OffsetFileClock(std::string path,
                           absl::Duration recheck = absl::Milliseconds(50))
      : path_(std::move(path)), recheck_(recheck) {}
  absl::Time Now() const override;

 private:
  const std::string path_;
  const absl::Duration recheck_;
  mutable absl::Mutex mu_;
  mutable absl::Time next_check_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  mutable uint64_t inode_ ABSL_GUARDED_BY(mu_) = 0;
  mutable int64_t mtime_ns_ ABSL_GUARDED_BY(mu_) = -1;
  mutable absl::Duration offset_ ABSL_GUARDED_BY(mu_);
};

// A clock that moves only when told.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = t;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wangge

#endif  // WANGGE_SERVICES_COMMON_CLOCK_CLOCK_H_
