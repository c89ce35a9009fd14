#ifndef WANGGE_SERVICES_CLI_CLI_SUPPORT_H_
#define WANGGE_SERVICES_CLI_CLI_SUPPORT_H_

// What every `wangge` command shares: addresses of the local stack, tokens
// (a development token for the command's role unless --token), printing
// (tables, or JSON with --json) and gRPC errors with their field and rule.

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

ABSL_DECLARE_FLAG(std::string, addr);
ABSL_DECLARE_FLAG(std::string, stack);
ABSL_DECLARE_FLAG(std::string, token);
ABSL_DECLARE_FLAG(std::string, key_file);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(std::string, role);
ABSL_DECLARE_FLAG(std::string, subject);
ABSL_DECLARE_FLAG(std::string, scope);
ABSL_DECLARE_FLAG(std::string, department);
ABSL_DECLARE_FLAG(std::string, channel);
ABSL_DECLARE_FLAG(absl::Duration, ttl);
ABSL_DECLARE_FLAG(std::string, as_of);
ABSL_DECLARE_FLAG(std::string, request_id);

namespace wangge::cli {

extern const std::map<std::string, int> kPorts;

int Fail(const std::string& message);
// Prints the status, its field violations and denied rule; returns 1.
int ReportError(const grpc::Status& s);
absl::StatusOr<std::string> Token(const std::string& role);
// A development token for anyone (the demo plays every role).
absl::StatusOr<std::string> MintToken(const std::string& role,
                                      const std::string& subject,
                                      const std::string& department = "",
                                      const std::string& channel = "");
// The service's address: --stack, --addr, or the local stack's port.
std::string Address(const std::string& service);
std::shared_ptr<grpc::Channel> Channel(const std::string& service);
void Print(const google::protobuf::Message& m);
// A context carrying `token` (none when empty) and a 30 s deadline.
std::unique_ptr<grpc::ClientContext> ContextWithToken(const std::string& token);
// A context with a token of `role` (or --token) and a 30 s deadline.
absl::StatusOr<std::unique_ptr<grpc::ClientContext>> Context(
    const std::string& role);
// Follows a List call's pages until `most` rows (counted by `rows`) or the
// end: a page may be short, even empty, while a token remains (each call
// scans a bounded number of rows). `call(context, request, page)`.
template <typename Request, typename Response, typename Call, typename Rows>
grpc::Status ListPages(const std::string& role, Request request, int most,
                       Call call, Rows rows, Response* all) {
  all->Clear();
  do {
    auto ctx = Context(role);
    if (!ctx.ok()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          std::string(ctx.status().message()));
    }
    Response page;
    grpc::Status s = call(ctx->get(), request, &page);
    if (!s.ok()) return s;
    all->MergeFrom(page);
    all->set_next_page_token(page.next_page_token());
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty() && rows(*all) < most);
  return grpc::Status::OK;
}

// --request_id, or a fresh one.
std::string RequestId(const std::string& what);
bool JsonOutput();
// China time, to the minute; "-" when unset.
std::string ShortTime(const google::protobuf::Timestamp& t);

}  // namespace wangge::cli

#endif  // WANGGE_SERVICES_CLI_CLI_SUPPORT_H_
