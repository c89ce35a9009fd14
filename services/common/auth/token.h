#ifndef WANGGE_SERVICES_COMMON_AUTH_TOKEN_H_
#define WANGGE_SERVICES_COMMON_AUTH_TOKEN_H_

// Bearer tokens (contracts: "Identity and authorisation"): JWTs verified with
// libjwt 1.10.2, the algorithm pinned, `exp` and `aud` checked here (libjwt
// checks neither), verified tokens cached by their SHA-256.
//
// Thread safety: TokenVerifier is safe for concurrent use.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/common/clock/clock.h"
#include "wangge/common/v1/role.pb.h"

namespace wangge::auth {

struct Claims {
  std::string subject;
  wangge::common::v1::Role role = wangge::common::v1::ROLE_UNSPECIFIED;
  std::string department;
  std::string channel;
  std::string audience;
  absl::Time expiry = absl::InfinitePast();
  // Area codes the caller may act in ("*" for the whole deployment).
  std::vector<std::string> scopes;
};

// "shift_leader" <-> ROLE_SHIFT_LEADER.
absl::StatusOr<wangge::common::v1::Role> ParseRole(absl::string_view name);
std::string RoleName(wangge::common::v1::Role role);

// True when `area_code` lies inside one of `scopes` (a prefix test on codes).
bool InScope(const std::vector<std::string>& scopes,
             absl::string_view area_code);

class TokenVerifier {
 public:
  // `algorithm` is pinned: "HS256", "RS256" or "ES256". `key` is the HS
  // secret or the PEM public key.
  TokenVerifier(std::string algorithm, std::string key, std::string audience,
                const Clock* clock);

  // UNAUTHENTICATED with the reason on any failure.
  absl::StatusOr<Claims> Verify(absl::string_view token);

  // Cache statistics, for tests and metrics.
  uint64_t cache_hits() const;

 private:
  absl::StatusOr<Claims> VerifyUncached(absl::string_view token) const;

  const std::string algorithm_;
  const std::string key_;
  const std::string audience_;
  const Clock* const clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Claims> cache_ ABSL_GUARDED_BY(mu_);
  uint64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
};

// Signs a token (development tools, tests, the CLI's `token` command).
// `key` is the HS secret or the PEM private key.
absl::StatusOr<std::string> MintToken(const Claims& claims,
                                      absl::string_view algorithm,
                                      absl::string_view key);

}  // namespace wangge::auth

#endif  // WANGGE_SERVICES_COMMON_AUTH_TOKEN_H_
