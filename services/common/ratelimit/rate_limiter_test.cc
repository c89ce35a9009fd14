#include "services/common/ratelimit/rate_limiter.h"

#include "gtest/gtest.h"
#include "services/common/status/errors.h"

namespace wangge::ratelimit {
namespace {

TEST(RateLimiterTest, BurstThenSteadyRateWithRetryHint) {
  FakeClock clock(absl::FromUnixSeconds(1000));
  RateLimiter limiter(*ParseRate("2/s:3"), &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit("channel:12345").ok());
  absl::Status refused = limiter.Admit("channel:12345");
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status::RetryAfter(refused), absl::Milliseconds(500));
  // Another key has its own bucket.
  EXPECT_TRUE(limiter.Admit("channel:app").ok());
  clock.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(limiter.Admit("channel:12345").ok());
  EXPECT_FALSE(limiter.Admit("channel:12345").ok());
  clock.Advance(absl::Seconds(10));  // refills only up to the burst
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Admit("channel:12345").ok());
  EXPECT_FALSE(limiter.Admit("channel:12345").ok());
}

TEST(RateLimiterTest, ParsesRates) {
  EXPECT_EQ(ParseRate("6000/m")->per_second, 100);
  EXPECT_EQ(ParseRate("0")->per_second, 0);
  EXPECT_FALSE(ParseRate("fast").ok());
  EXPECT_FALSE(ParseRate("10/h").ok());
  EXPECT_FALSE(ParseRate("10/s:0").ok());
  FakeClock clock(absl::FromUnixSeconds(0));
  RateLimiter unlimited(*ParseRate("0"), &clock);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.Admit("k").ok());
}

}  // namespace
}  // namespace wangge::ratelimit
