#ifndef WANGGE_SERVICES_COMMON_TESTING_TEST_SUPPORT_H_
#define WANGGE_SERVICES_COMMON_TESTING_TEST_SUPPORT_H_

// Helpers shared by tests: temporary directories, certificates made with the
// openssl command, dev tokens, and a minimal HTTP GET for /metrics.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/auth/token.h"
#include "services/common/config/config.h"

namespace wangge::testing {

// A fresh directory under TEST_TMPDIR (or /tmp).
std::string MakeTempDir(const std::string& name);

// Writes `content` to `path`; aborts the test on failure.
void WriteFile(const std::string& path, const std::string& content);

struct TlsFiles {
  std::string ca_cert;
  std::string server_cert, server_key;
  std::string client_cert, client_key;
  // A client certificate from another CA, which servers must refuse.
  std::string rogue_client_cert, rogue_client_key;
};

// A CA, a server certificate for localhost/127.0.0.1, and client
// certificates, written under `dir`.
absl::StatusOr<TlsFiles> MakeTlsFiles(const std::string& dir);

inline constexpr char kDevSecret[] = "wangge-dev-secret-for-tests-only";

// An HS256 token signed with kDevSecret.
std::string DevToken(wangge::common::v1::Role role,
                     std::vector<std::string> scopes = {"*"},
                     const std::string& subject = "tester",
                     const std::string& department = "",
                     const std::string& channel = "",
                     absl::Duration ttl = absl::Hours(1));

// A plaintext loopback config whose token key file holds kDevSecret.
config::ServiceConfig LoopbackConfig(const std::string& service,
                                     const std::string& dir);

// GET http://127.0.0.1:port/path; returns the body.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

}  // namespace wangge::testing

#endif  // WANGGE_SERVICES_COMMON_TESTING_TEST_SUPPORT_H_
