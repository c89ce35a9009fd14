#ifndef WANGGE_SERVICES_COMMON_STATUS_ERRORS_H_
#define WANGGE_SERVICES_COMMON_STATUS_ERRORS_H_

// Errors with the details the contracts assign, carried as absl::Status
// payloads so they survive inside the process and become google.rpc details
// at the gRPC edge (see grpc_status.h).

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wangge::status {

// Payload type URLs, as google.rpc.Status details use them.
inline constexpr absl::string_view kBadRequestUrl =
    "type.googleapis.com/google.rpc.BadRequest";
inline constexpr absl::string_view kErrorInfoUrl =
    "type.googleapis.com/google.rpc.ErrorInfo";
inline constexpr absl::string_view kRetryInfoUrl =
    "type.googleapis.com/google.rpc.RetryInfo";

struct FieldViolation {
  std::string field;
  std::string description;
};

// INVALID_ARGUMENT naming each wrong field.
absl::Status InvalidArgument(std::vector<FieldViolation> violations);
absl::Status InvalidField(absl::string_view field,
                          absl::string_view description);

// PERMISSION_DENIED naming the rule that refused (e.g. "checker_is_handler").
absl::Status PermissionDenied(absl::string_view rule,
                              absl::string_view message);

// RESOURCE_EXHAUSTED with a retry hint.
absl::Status ResourceExhausted(absl::string_view message,
                               absl::Duration retry_after);

// Reads the details back (empty when absent).
std::vector<FieldViolation> FieldViolations(const absl::Status& status);
// The first violated field's name, or "" (tests and the CLI).
std::string ViolatedField(const absl::Status& status);
std::string DeniedRule(const absl::Status& status);
absl::Duration RetryAfter(const absl::Status& status);

}  // namespace wangge::status

#endif  // WANGGE_SERVICES_COMMON_STATUS_ERRORS_H_
