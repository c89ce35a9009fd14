#ifndef WANGGE_SERVICES_COMMON_RATELIMIT_RATE_LIMITER_H_
#define WANGGE_SERVICES_COMMON_RATELIMIT_RATE_LIMITER_H_

// Token buckets by key ("channel:12345", "caller:staff-7"), on the injected
// clock. A refusal is RESOURCE_EXHAUSTED with the time until a token is due
// (a google.rpc.RetryInfo at the gRPC edge).
//
// Thread safety: Admit may be called from any thread.

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/clock/clock.h"

namespace wangge::ratelimit {

struct Rate {
  double per_second = 0;  // 0: unlimited
  double burst = 1;
};

// "100/s", "100/s:200" (burst), "6000/m", "0" (unlimited).
absl::StatusOr<Rate> ParseRate(const std::string& text);

class RateLimiter {
 public:
  RateLimiter(Rate rate, const Clock* clock) : rate_(rate), clock_(clock) {}

  // Takes one token from `key`'s bucket, or says when to come back.
  absl::Status Admit(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  const Rate rate_;
  const Clock* const clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wangge::ratelimit

#endif  // WANGGE_SERVICES_COMMON_RATELIMIT_RATE_LIMITER_H_
