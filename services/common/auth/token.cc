#include "services/common/auth/token.h"

#include <jwt.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"

namespace wangge::auth {
namespace {

using wangge::common::v1::Role;

constexpr size_t kMaxCacheEntries = 100000;

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid token: ", why));
}

struct JwtDeleter {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtDeleter>;

std::string Sha256(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

jwt_alg_t AlgFromName(absl::string_view name) {
  if (name == "HS256") return JWT_ALG_HS256;
  if (name == "RS256") return JWT_ALG_RS256;
  if (name == "ES256") return JWT_ALG_ES256;
  return JWT_ALG_INVAL;
}

// The header's "alg", read before libjwt sees the token, so that a token
// naming another algorithm (or "none") never reaches a verifier.
absl::StatusOr<std::string> HeaderAlg(absl::string_view token) {
  std::vector<absl::string_view> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return Unauthenticated("not a JWS compact token");
  std::string header;
  if (!absl::WebSafeBase64Unescape(parts[0], &header)) {
    return Unauthenticated("header is not base64url");
  }
  auto json =
      nlohmann::json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("alg") || !json["alg"].is_string()) {
    return Unauthenticated("header has no alg");
  }
  return json["alg"].get<std::string>();
}

std::string Grant(jwt_t* jwt, const char* name) {
  const char* v = jwt_get_grant(jwt, name);
  return v == nullptr ? "" : v;
}

}  // namespace

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  Role role;
  if (name.empty() ||
      !wangge::common::v1::Role_Parse(
          absl::StrCat("ROLE_", absl::AsciiStrToUpper(name)), &role) ||
      role == wangge::common::v1::ROLE_UNSPECIFIED) {
    return absl::InvalidArgumentError(absl::StrCat("unknown role: ", name));
  }
  return role;
}

std::string RoleName(Role role) {
  std::string name = wangge::common::v1::Role_Name(role);
  if (absl::StartsWith(name, "ROLE_")) name = name.substr(5);
  return absl::AsciiStrToLower(name);
}

bool InScope(const std::vector<std::string>& scopes,
             absl::string_view area_code) {
  for (const auto& s : scopes) {
    if (s == "*") return true;
    if (!s.empty() && absl::StartsWith(area_code, s)) return true;
  }
  return false;
}

TokenVerifier::TokenVerifier(std::string algorithm, std::string key,
                             std::string audience, const Clock* clock)
    : algorithm_(std::move(algorithm)),
      key_(std::move(key)),
      audience_(std::move(audience)),
      clock_(clock) {}

uint64_t TokenVerifier::cache_hits() const {
  absl::MutexLock lock(&mu_);
  return hits_;
}

absl::StatusOr<Claims> TokenVerifier::Verify(absl::string_view token) {
  if (token.empty()) return absl::UnauthenticatedError("missing bearer token");
  const std::string digest = Sha256(token);
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(digest);
    if (it != cache_.end()) {
      // Expiry is checked on every use, cached or not.
      if (clock_->Now() >= it->second.expiry) {
        cache_.erase(it);
        return Unauthenticated("expired");
      }
      ++hits_;
      return it->second;
    }
  }
  auto claims = VerifyUncached(token);
  if (!claims.ok()) return claims.status();
  absl::MutexLock lock(&mu_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_[digest] = *claims;
  return claims;
}

absl::StatusOr<Claims> TokenVerifier::VerifyUncached(
    absl::string_view token) const {
  const jwt_alg_t pinned = AlgFromName(algorithm_);
  if (pinned == JWT_ALG_INVAL) return Unauthenticated("verifier misconfigured");
  auto alg = HeaderAlg(token);
  if (!alg.ok()) return alg.status();
  if (*alg != algorithm_) {
    return Unauthenticated(
        absl::StrCat("algorithm ", *alg, " is not the pinned ", algorithm_));
  }
  jwt_t* raw = nullptr;
  const std::string copy(token);
  int rc = jwt_decode(&raw, copy.c_str(),
                      reinterpret_cast<const unsigned char*>(key_.data()),
                      static_cast<int>(key_.size()));
  JwtPtr jwt(raw);
  if (rc != 0 || jwt == nullptr) return Unauthenticated("bad signature");
  // libjwt decided by the header; insist it used the pinned algorithm.
  if (jwt_get_alg(jwt.get()) != pinned) {
    return Unauthenticated("algorithm mismatch after decode");
  }

  Claims c;
  c.subject = Grant(jwt.get(), "sub");
  if (c.subject.empty()) return Unauthenticated("no sub");

  errno = 0;
  long exp = jwt_get_grant_int(jwt.get(), "exp");
  if (errno == ENOENT || exp <= 0) return Unauthenticated("no exp");
  c.expiry = absl::FromUnixSeconds(exp);
  if (clock_->Now() >= c.expiry) return Unauthenticated("expired");

  // aud may be a string or an array of strings.
  bool audience_ok = false;
  char* aud_json = jwt_get_grants_json(jwt.get(), "aud");
  if (aud_json != nullptr) {
    auto aud = nlohmann::json::parse(aud_json, nullptr, false);
    std::free(aud_json);
    if (aud.is_string()) {
      audience_ok = aud.get<std::string>() == audience_;
    } else if (aud.is_array()) {
      for (const auto& a : aud) {
        if (a.is_string() && a.get<std::string>() == audience_) {
          audience_ok = true;
        }
      }
    }
  }
  if (!audience_ok) return Unauthenticated("wrong audience");
  c.audience = audience_;

  auto role = ParseRole(Grant(jwt.get(), "role"));
  if (!role.ok()) return Unauthenticated("unknown role");
  c.role = *role;
  c.department = Grant(jwt.get(), "department");
  c.channel = Grant(jwt.get(), "channel");
  if (c.role == wangge::common::v1::ROLE_DEPARTMENT_HANDLER &&
      c.department.empty()) {
    return Unauthenticated("department handler without department");
  }
  if (c.role == wangge::common::v1::ROLE_CHANNEL && c.channel.empty()) {
    return Unauthenticated("channel without channel claim");
  }
  for (absl::string_view s :
       absl::StrSplit(Grant(jwt.get(), "scope"), ' ', absl::SkipEmpty())) {
    c.scopes.emplace_back(s);
  }
  return c;
}

absl::StatusOr<std::string> MintToken(const Claims& claims,
                                      absl::string_view algorithm,
                                      absl::string_view key) {
  const jwt_alg_t alg = AlgFromName(algorithm);
  if (alg == JWT_ALG_INVAL) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported algorithm ", algorithm));
  }
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return absl::InternalError("jwt_new failed");
  JwtPtr jwt(raw);
  const std::string k(key);
  if (jwt_set_alg(jwt.get(), alg,
                  reinterpret_cast<const unsigned char*>(k.data()),
                  static_cast<int>(k.size())) != 0) {
    return absl::InvalidArgumentError("key rejected for algorithm");
  }
  jwt_add_grant(jwt.get(), "sub", claims.subject.c_str());
  jwt_add_grant(jwt.get(), "aud", claims.audience.c_str());
  jwt_add_grant(jwt.get(), "role", RoleName(claims.role).c_str());
  if (!claims.department.empty()) {
    jwt_add_grant(jwt.get(), "department", claims.department.c_str());
  }
  if (!claims.channel.empty()) {
    jwt_add_grant(jwt.get(), "channel", claims.channel.c_str());
  }
  if (!claims.scopes.empty()) {
    jwt_add_grant(jwt.get(), "scope",
                  absl::StrJoin(claims.scopes, " ").c_str());
  }
  jwt_add_grant_int(jwt.get(), "exp", absl::ToUnixSeconds(claims.expiry));
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) return absl::InternalError("jwt_encode_str failed");
  std::string out(encoded);
  std::free(encoded);
  return out;
}

}  // namespace wangge::auth
