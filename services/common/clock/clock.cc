#include "services/common/clock/clock.h"

#include <sys/stat.h>

#include <fstream>

namespace wangge {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

absl::Time OffsetFileClock::Now() const {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  if (now < next_check_) return now + offset_;
  next_check_ = now + recheck_;
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    offset_ = absl::ZeroDuration();
    mtime_ns_ = -1;
  } else {
    const int64_t mtime =
        int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    if (mtime != mtime_ns_ || st.st_ino != inode_) {
      std::ifstream in(path_);
      double seconds = 0;
      if (in >> seconds) {
        offset_ = absl::Seconds(seconds);
        mtime_ns_ = mtime;
        inode_ = st.st_ino;
      }
    }
  }
  return now + offset_;
}

Clock* Clock::Real() {
  static RealClock* const clock = new RealClock();
  return clock;
}

}  // namespace wangge
