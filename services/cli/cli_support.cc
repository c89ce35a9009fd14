#include "services/cli/cli_support.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "services/common/auth/token.h"
#include "services/common/files/files.h"
#include "services/common/server/channel.h"
#include "services/common/status/errors.h"
#include "services/common/status/grpc_status.h"

ABSL_FLAG(std::string, addr, "", "Service address (default: the local stack)");
ABSL_FLAG(std::string, stack, "",
          "Addresses per service, service=host:port,... (default: the local "
          "stack's ports)");
ABSL_FLAG(std::string, token, "", "Bearer token (default: a dev token)");
ABSL_FLAG(std::string, key_file, "var/dev/jwt.key", "HS256 development secret");
ABSL_FLAG(bool, json, false, "Print JSON");
ABSL_FLAG(std::string, role, "administrator", "token: role");
ABSL_FLAG(std::string, subject, "cli", "token: subject");
ABSL_FLAG(std::string, scope, "*", "token: area codes, comma-separated");
ABSL_FLAG(std::string, department, "", "token: department (handlers)");
ABSL_FLAG(std::string, channel, "", "token: channel (channels)");
ABSL_FLAG(absl::Duration, ttl, absl::Hours(8), "token: lifetime");
ABSL_FLAG(std::string, as_of, "", "RFC 3339 time for as-of queries");
ABSL_FLAG(std::string, request_id, "", "Idempotency key (default: derived)");
ABSL_FLAG(std::string, tls_ca_file, "",
          "TLS: the CA of the services' certificates (empty: plaintext, as "
          "the local stack)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "mTLS: a client certificate from that CA (production's services "
          "require one)");
ABSL_FLAG(std::string, tls_key_file, "", "mTLS: its private key");

namespace wangge::cli {

const std::map<std::string, int> kPorts = {{"intake", 7101},
                                           {"supervision", 7102},
                                           {"dispatch", 7103},
                                           {"oversight", 7104},
                                           {"registry", 7105}};

int Fail(const std::string& message) {
  std::fprintf(stderr, "wangge: %s\n", message.c_str());
  return 2;
}

int ReportError(const grpc::Status& s) {
  absl::Status a = status::FromGrpcStatus(s);
  std::fprintf(stderr, "error: %s: %s\n",
               absl::StatusCodeToString(a.code()).c_str(),
               s.error_message().c_str());
  for (const auto& v : status::FieldViolations(a)) {
    std::fprintf(stderr, "  field %s: %s\n", v.field.c_str(),
                 v.description.c_str());
  }
  const std::string rule = status::DeniedRule(a);
  if (!rule.empty()) std::fprintf(stderr, "  rule: %s\n", rule.c_str());
  return 1;
}

absl::StatusOr<std::string> Token(const std::string& role) {
  if (!absl::GetFlag(FLAGS_token).empty()) return absl::GetFlag(FLAGS_token);
  return MintToken(role, absl::GetFlag(FLAGS_subject),
                   absl::GetFlag(FLAGS_department),
                   absl::GetFlag(FLAGS_channel));
}

absl::StatusOr<std::string> MintToken(const std::string& role,
                                      const std::string& subject,
                                      const std::string& department,
                                      const std::string& channel) {
  auto key = files::ReadFileToString(absl::GetFlag(FLAGS_key_file));
  if (!key.ok()) return key.status();
  auth::Claims c;
  auto parsed = auth::ParseRole(role);
  if (!parsed.ok()) return parsed.status();
  c.role = *parsed;
  c.subject = subject;
  c.department = department;
  c.channel = channel;
  c.audience = "wangge";
  c.expiry = absl::Now() + absl::GetFlag(FLAGS_ttl);
  c.scopes = absl::StrSplit(absl::GetFlag(FLAGS_scope), ',', absl::SkipEmpty());
  return auth::MintToken(c, "HS256", *key);
}

std::string Address(const std::string& service) {
  std::string addr = absl::GetFlag(FLAGS_addr);
  for (absl::string_view pair :
       absl::StrSplit(absl::GetFlag(FLAGS_stack), ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(pair, '=');
    if (kv.first == service) addr = kv.second;
  }
  if (addr.empty()) addr = absl::StrCat("127.0.0.1:", kPorts.at(service));
  return addr;
}

std::shared_ptr<grpc::Channel> Channel(const std::string& service) {
  return server::ToolChannelOrExit(
      "wangge", Address(service), absl::GetFlag(FLAGS_tls_ca_file),
      absl::GetFlag(FLAGS_tls_cert_file), absl::GetFlag(FLAGS_tls_key_file));
}

void Print(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = !absl::GetFlag(FLAGS_json);
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  std::printf("%s\n", out.c_str());
}

absl::StatusOr<std::unique_ptr<grpc::ClientContext>> Context(
    const std::string& role) {
  // --role overrides the command's own role (to try a refusal, say).
  const std::string chosen = absl::GetFlag(FLAGS_role) == "administrator"
                                 ? role
                                 : absl::GetFlag(FLAGS_role);
  auto token = Token(chosen);
  if (!token.ok()) return token.status();
  return ContextWithToken(*token);
}

std::unique_ptr<grpc::ClientContext> ContextWithToken(
    const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(30));
  return ctx;
}

std::string RequestId(const std::string& what) {
  return absl::GetFlag(FLAGS_request_id).empty()
             ? absl::StrCat(what, "-", absl::ToUnixNanos(absl::Now()))
             : absl::GetFlag(FLAGS_request_id);
}

bool JsonOutput() { return absl::GetFlag(FLAGS_json); }

std::string ShortTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixSeconds(t.seconds()),
                          absl::FixedTimeZone(8 * 3600));
}

}  // namespace wangge::cli
