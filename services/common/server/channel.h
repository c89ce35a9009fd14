#ifndef WANGGE_SERVICES_COMMON_SERVER_CHANNEL_H_
#define WANGGE_SERVICES_COMMON_SERVER_CHANNEL_H_

// Client channels to peers, with the same TLS settings as the server: mTLS
// (our certificate, the CA that signs peers) unless --plaintext.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/config/config.h"
#include "services/common/files/files.h"

namespace wangge::server {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const std::string& address, const config::TlsConfig& tls);

using files::ReadFileToString;

}  // namespace wangge::server

#endif  // WANGGE_SERVICES_COMMON_SERVER_CHANNEL_H_
