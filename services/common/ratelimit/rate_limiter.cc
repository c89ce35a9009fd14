#include "services/common/ratelimit/rate_limiter.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/status/errors.h"

namespace wangge::ratelimit {

absl::StatusOr<Rate> ParseRate(const std::string& text) {
  if (text == "0" || text.empty()) return Rate{0, 1};
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  std::vector<std::string> rate = absl::StrSplit(parts[0], '/');
  double n = 0;
  if (rate.size() != 2 || !absl::SimpleAtod(rate[0], &n) || n <= 0 ||
      (rate[1] != "s" && rate[1] != "m")) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate ", text, ": use N/s or N/m, optionally :burst"));
  }
  Rate r;
  r.per_second = rate[1] == "s" ? n : n / 60.0;
  r.burst = std::max(1.0, r.per_second);
  if (parts.size() == 2 &&
      (!absl::SimpleAtod(parts[1], &r.burst) || r.burst < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rate ", text, ": bad burst"));
  }
  return r;
}

absl::Status RateLimiter::Admit(const std::string& key) {
  if (rate_.per_second <= 0) return absl::OkStatus();
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{rate_.burst, now});
  Bucket& b = it->second;
  if (!inserted) {
    const double elapsed =
        std::max(0.0, absl::ToDoubleSeconds(now - b.updated));
    b.tokens = std::min(rate_.burst, b.tokens + elapsed * rate_.per_second);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return absl::OkStatus();
  }
  const absl::Duration wait =
      absl::Seconds((1.0 - b.tokens) / rate_.per_second);
  return status::ResourceExhausted(absl::StrCat("rate limit for ", key), wait);
}

}  // namespace wangge::ratelimit
