#ifndef WANGGE_SERVICES_COMMON_SERVER_CHANNEL_H_
#define WANGGE_SERVICES_COMMON_SERVER_CHANNEL_H_

// Client channels to peers, with the same TLS settings as the server: mTLS
// (our certificate, the CA that signs peers) unless --plaintext.

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/config/config.h"
#include "services/common/files/files.h"

namespace wangge::server {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const std::string& address, const config::TlsConfig& tls);

// For command-line tools: a channel from their --tls_* values (plaintext
// without a CA); exits 2, saying why after `tool`, when it cannot be made.
std::shared_ptr<grpc::Channel> ToolChannelOrExit(const char* tool,
                                                 const std::string& address,
                                                 const std::string& ca_file,
                                                 const std::string& cert_file,
                                                 const std::string& key_file);

// gRPC's watcher over a key, its certificate and a CA file (each may be
// empty), checked for renewals every `refresh` (whole seconds, at least 1):
// servers and long-lived client channels follow what is on disk.
std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider>
WatchTlsFiles(const std::string& key_file, const std::string& cert_file,
              const std::string& ca_file, absl::Duration refresh);

using files::ReadFileToString;

}  // namespace wangge::server

#endif  // WANGGE_SERVICES_COMMON_SERVER_CHANNEL_H_
