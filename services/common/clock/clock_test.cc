#include "services/common/clock/clock.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>

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

TEST(ClockTest, OffsetFileClockFollowsTheFile) {
  const std::string path =
      std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
      "/clock_offset";
  std::remove(path.c_str());
  OffsetFileClock clock(path, absl::ZeroDuration());
  EXPECT_LT(absl::AbsDuration(clock.Now() - absl::Now()), absl::Seconds(5));
  {
    std::ofstream out(path);
    out << "86400\n";
  }
  EXPECT_LT(absl::AbsDuration(clock.Now() - (absl::Now() + absl::Hours(24))),
            absl::Seconds(5));
}

TEST(ClockTest, OffsetFileClockLooksAtTheFileOncePerRecheck) {
  const std::string path =
      std::string(getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp") +
      "/clock_offset_recheck";
  std::remove(path.c_str());
  OffsetFileClock clock(path, absl::Seconds(1));
  EXPECT_LT(absl::AbsDuration(clock.Now() - absl::Now()), absl::Seconds(5));
  {
    std::ofstream out(path);
    out << "86400\n";
  }
  // Within the recheck interval the last offset holds ...
  EXPECT_LT(absl::AbsDuration(clock.Now() - absl::Now()), absl::Seconds(5));
  // ... and after it the file is read again.
  absl::SleepFor(absl::Milliseconds(1100));
  EXPECT_LT(absl::AbsDuration(clock.Now() - (absl::Now() + absl::Hours(24))),
            absl::Seconds(5));
}

}  // namespace
}  // namespace wangge
