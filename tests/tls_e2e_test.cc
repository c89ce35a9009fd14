// A service as production runs it, as a process: mTLS on its gRPC port
// (client certificates required) and a plaintext health-only port for the
// kubelet's probes. The audit tool reaches its log with a client
// certificate, and is refused without one; the health port answers in
// plaintext and serves nothing but health.

#include <grpcpp/grpcpp.h>

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/common/files/files.h"
#include "services/common/testing/subprocess.h"
#include "services/common/testing/test_support.h"
#include "wangge/common/v1/eventlog.grpc.pb.h"

namespace wangge {
namespace {

TEST(TlsE2eTest, MutualTlsServiceWithAPlaintextHealthPort) {
  const std::string dir = testing::MakeTempDir("tls");
  auto tls = testing::MakeTlsFiles(dir);
  ASSERT_TRUE(tls.ok()) << tls.status();
  ASSERT_TRUE(
      files::WriteFileAtomically(dir + "/jwt.key", testing::kDevSecret).ok());
  testing::Subprocess registry;
  ASSERT_TRUE(registry
                  .Start({"services/registry/registry"},
                         {{"LISTEN", "127.0.0.1:0"},
                          {"METRICS_LISTEN", ""},
                          {"HEALTH_LISTEN", "127.0.0.1:0"},
                          {"PLAINTEXT", "false"},
                          {"TLS_CERT_FILE", tls->server_cert},
                          {"TLS_KEY_FILE", tls->server_key},
                          {"TLS_CA_FILE", tls->ca_cert},
                          {"DATA_DIR", dir + "/registry"},
                          {"JWT_KEY_FILE", dir + "/jwt.key"},
                          {"PARTITIONS", "2"},
                          {"LOG_LEVEL", "warning"},
                          {"KAFKA_BOOTSTRAP", "127.0.0.1:1"},
                          {"CHECKPOINT_EVERY", "200ms"}})
                  .ok());
  auto health_port = registry.WaitForLine("health port ", absl::Seconds(60));
  ASSERT_TRUE(health_port.ok()) << health_port.status();
  auto listening = registry.WaitForLine("listening ", absl::Seconds(60));
  ASSERT_TRUE(listening.ok()) << listening.status();
  const std::string address =
      "localhost:" + listening->substr(listening->rfind(':') + 1);

  // The probes' port: plaintext, health only.
  auto channel = grpc::CreateChannel("127.0.0.1:" + *health_port,
                                     grpc::InsecureChannelCredentials());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckResponse status;
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest request;
    request.set_service("readiness");
    ASSERT_TRUE(health->Check(&ctx, request, &status).ok());
    if (status.status() == grpc::health::v1::HealthCheckResponse::SERVING)
      break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(status.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  {
    auto log = common::v1::EventLog::NewStub(channel);
    grpc::ClientContext ctx;
    common::v1::GetLogHeadsResponse heads;
    EXPECT_EQ(log->GetLogHeads(&ctx, {}, &heads).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  // The service port, in plaintext: refused.
  {
    auto log = common::v1::EventLog::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(5));
    common::v1::GetLogHeadsResponse heads;
    EXPECT_FALSE(log->GetLogHeads(&ctx, {}, &heads).ok());
  }

  const std::string key = "--key_file=" + dir + "/jwt.key";
  const std::string addr = "--addr=registry=" + address;
  testing::ToolRun with_cert = testing::RunTool(
      {"services/audit/audit", "verify", addr, key,
       "--tls_ca_file=" + tls->ca_cert, "--tls_cert_file=" + tls->client_cert,
       "--tls_key_file=" + tls->client_key},
      absl::Seconds(60));
  EXPECT_EQ(with_cert.code, 0) << with_cert.output;
  EXPECT_NE(with_cert.output.find("\"ok\": true"), std::string::npos);
  testing::ToolRun without_cert =
      testing::RunTool({"services/audit/audit", "verify", addr, key,
                        "--tls_ca_file=" + tls->ca_cert},
                       absl::Seconds(60));
  EXPECT_EQ(without_cert.code, 2) << without_cert.output;
  testing::ToolRun plaintext = testing::RunTool(
      {"services/audit/audit", "verify", addr, key}, absl::Seconds(60));
  EXPECT_EQ(plaintext.code, 2) << plaintext.output;
  // The CLI, with the same flags (an operator importing reference data).
  testing::ToolRun cli = testing::RunTool(
      {"services/cli/wangge", "heads", "registry", "--addr=" + address, key,
       "--tls_ca_file=" + tls->ca_cert, "--tls_cert_file=" + tls->client_cert,
       "--tls_key_file=" + tls->client_key},
      absl::Seconds(60));
  EXPECT_EQ(cli.code, 0) << cli.output;
  EXPECT_NE(cli.output.find("registry total"), std::string::npos) << cli.output;
  testing::ToolRun cli_plaintext = testing::RunTool(
      {"services/cli/wangge", "heads", "registry", "--addr=" + address, key},
      absl::Seconds(60));
  EXPECT_NE(cli_plaintext.code, 0) << cli_plaintext.output;
}

}  // namespace
}  // namespace wangge
