#include "services/common/server/channel.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace wangge::server {

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(
    const std::string& address, const config::TlsConfig& tls) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  if (tls.plaintext) {
    return grpc::CreateCustomChannel(address,
                                     grpc::InsecureChannelCredentials(), args);
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate needs its key, and a key its certificate "
        "(--tls_cert_file and --tls_key_file together)");
  }
  const bool identity = !tls.cert_file.empty();
  if (tls.ca_file.empty() && !identity) {
    // The system's roots, nothing to present.
    return grpc::CreateCustomChannel(
        address, grpc::SslCredentials(grpc::SslCredentialsOptions()), args);
  }
  // Read once so that a missing file is an error now, with its name.
  for (const std::string& path : {tls.ca_file, tls.cert_file, tls.key_file}) {
    if (path.empty()) continue;
    auto content = ReadFileToString(path);
    if (!content.ok()) return content.status();
  }
  // A long-lived channel (a peer's ReadLog) follows renewals of its client
  // certificate and CA on disk. The server's name is still checked: gRPC's
  // hostname verifier is the default when no other is set.
  grpc::experimental::TlsChannelCredentialsOptions opts;
  opts.set_certificate_provider(
      WatchTlsFiles(tls.key_file, tls.cert_file, tls.ca_file, tls.refresh));
  if (!tls.ca_file.empty()) opts.watch_root_certs();
  if (identity) opts.watch_identity_key_cert_pairs();
  return grpc::CreateCustomChannel(
      address, grpc::experimental::TlsCredentials(opts), args);
}

std::shared_ptr<grpc::Channel> ToolChannelOrExit(const char* tool,
                                                 const std::string& address,
                                                 const std::string& ca_file,
                                                 const std::string& cert_file,
                                                 const std::string& key_file) {
  config::TlsConfig tls;
  tls.plaintext = ca_file.empty();
  tls.ca_file = ca_file;
  tls.cert_file = cert_file;
  tls.key_file = key_file;
  auto channel = MakeChannel(address, tls);
  if (!channel.ok()) {
    std::fprintf(stderr, "%s: %s\n", tool, channel.status().ToString().c_str());
    std::exit(2);
  }
  return *std::move(channel);
}

std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider>
WatchTlsFiles(const std::string& key_file, const std::string& cert_file,
              const std::string& ca_file, absl::Duration refresh) {
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      key_file, cert_file, ca_file,
      static_cast<unsigned>(
          std::max<int64_t>(1, absl::ToInt64Seconds(refresh))));
}

}  // namespace wangge::server
