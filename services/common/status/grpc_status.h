#ifndef WANGGE_SERVICES_COMMON_STATUS_GRPC_STATUS_H_
#define WANGGE_SERVICES_COMMON_STATUS_GRPC_STATUS_H_

// absl::Status <-> grpc::Status at the edge. Canonical codes map one to one;
// payloads (field violations, the denied rule, retry hints) travel as
// google.rpc.Status details in the `grpc-status-details-bin` trailer.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace wangge::status {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace wangge::status

#endif  // WANGGE_SERVICES_COMMON_STATUS_GRPC_STATUS_H_
