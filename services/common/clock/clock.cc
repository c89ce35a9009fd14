#include "services/common/clock/clock.h"

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
  if (now - read_at_ > absl::Milliseconds(100)) {
    read_at_ = now;
    std::ifstream in(path_);
    double seconds = 0;
    offset_ = (in >> seconds) ? absl::Seconds(seconds) : absl::ZeroDuration();
  }
  return now + offset_;
}

Clock* Clock::Real() {
  static RealClock* const clock = new RealClock();
  return clock;
}

}  // namespace wangge
