#include "services/common/server/channel.h"

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
  grpc::SslCredentialsOptions opts;
  if (!tls.ca_file.empty()) {
    auto ca = ReadFileToString(tls.ca_file);
    if (!ca.ok()) return ca.status();
    opts.pem_root_certs = *ca;
  }
  if (!tls.cert_file.empty()) {
    auto cert = ReadFileToString(tls.cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadFileToString(tls.key_file);
    if (!key.ok()) return key.status();
    opts.pem_cert_chain = *cert;
    opts.pem_private_key = *key;
  }
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(opts), args);
}

}  // namespace wangge::server
