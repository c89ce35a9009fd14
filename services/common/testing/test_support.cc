#include "services/common/testing/test_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace wangge::testing {

std::string MakeTempDir(const std::string& name) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(base ? base : "/tmp", "/", name, "-",
                                 ::getpid(), "-", counter++);
  if (std::system(("rm -rf '" + dir + "' && mkdir -p '" + dir + "'").c_str()) !=
      0)
    std::perror("system");
  return dir;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) std::abort();
}

absl::StatusOr<TlsFiles> MakeTlsFiles(const std::string& dir) {
  const std::string script = absl::StrCat(
      "set -e; cd '", dir, "';",
      "ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
      "-nodes -keyout $1.key -out $1.crt -days 2 -subj /CN=$1; };",
      "leaf() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
      "-nodes -keyout $1.key -out $1.csr -subj /CN=$1;",
      " printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > $1.ext;",
      " openssl x509 -req -in $1.csr -CA $2.crt -CAkey $2.key "
      "-CAcreateserial -out $1.crt -days 2 -extfile $1.ext; };",
      "ca ca; ca rogue-ca; leaf server ca; leaf client ca; "
      "leaf rogue-client rogue-ca",
      ") >/dev/null 2>&1");
  if (std::system(("(" + script).c_str()) != 0) {
    return absl::InternalError("openssl could not make test certificates");
  }
  TlsFiles f;
  f.ca_cert = dir + "/ca.crt";
  f.server_cert = dir + "/server.crt";
  f.server_key = dir + "/server.key";
  f.client_cert = dir + "/client.crt";
  f.client_key = dir + "/client.key";
  f.rogue_client_cert = dir + "/rogue-client.crt";
  f.rogue_client_key = dir + "/rogue-client.key";
  return f;
}

std::string DevToken(wangge::common::v1::Role role,
                     std::vector<std::string> scopes,
                     const std::string& subject, const std::string& department,
                     const std::string& channel, absl::Duration ttl) {
  auth::Claims c;
  c.subject = subject;
  c.role = role;
  // Roles that must carry a claim get a default one.
  c.department =
      department.empty() && role == wangge::common::v1::ROLE_DEPARTMENT_HANDLER
          ? "dept-test"
          : department;
  c.channel = channel.empty() && role == wangge::common::v1::ROLE_CHANNEL
                  ? "12345"
                  : channel;
  c.audience = "wangge";
  c.expiry = absl::Now() + ttl;
  c.scopes = std::move(scopes);
  auto token = auth::MintToken(c, "HS256", kDevSecret);
  if (!token.ok()) std::abort();
  return *token;
}

config::ServiceConfig LoopbackConfig(const std::string& service,
                                     const std::string& dir) {
  config::ServiceConfig c;
  c.service = service;
  c.listen = "127.0.0.1:0";
  // Off by default: prometheus-cpp's HTTP server takes ~2 s to stop.
  c.metrics_listen = "";
  c.data_dir = dir + "/data";
  c.tls.plaintext = true;
  c.auth.algorithm = "HS256";
  c.auth.key_file = dir + "/jwt.key";
  WriteFile(c.auth.key_file, kDevSecret);
  c.auth.audience = "wangge";
  c.crypto_suite = "standard";
  c.durability = "sync";
  c.partitions = 4;
  c.log_level = "warning";
  c.handler_threads = 8;
  c.drain_timeout = absl::Seconds(5);
  return c;
}

absl::StatusOr<std::string> HttpGet(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket");
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return absl::UnavailableError("connect");
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  if (::write(fd, request.data(), request.size()) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return absl::InternalError("write");
  }
  std::string response;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
  ::close(fd);
  auto body = response.find("\r\n\r\n");
  if (body == std::string::npos) return absl::InternalError("no HTTP body");
  return response.substr(body + 4);
}

}  // namespace wangge::testing
