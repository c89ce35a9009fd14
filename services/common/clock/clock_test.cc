#include "services/common/clock/clock.h"

#include "gtest/gtest.h"

namespace wangge {
namespace {

TEST(ClockTest, FakeClockMovesOnlyWhenTold) {
  const absl::Time start = absl::FromUnixSeconds(1767225600);  // 2026-01-01Z
  FakeClock clock(start);
  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Minutes(30));
  EXPECT_EQ(clock.Now(), start + absl::Minutes(30));
  clock.Set(start);
  EXPECT_EQ(clock.Now(), start);
}

TEST(ClockTest, RealClockIsNearNow) {
  EXPECT_LT(absl::AbsDuration(Clock::Real()->Now() - absl::Now()),
            absl::Seconds(5));
}

}  // namespace
}  // namespace wangge
