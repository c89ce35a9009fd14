#include "tests/stack.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/common/testing/test_support.h"
#include "services/registry/app/deployment_json.h"
#include "services/registry/generator/city_generator.h"
#include "wangge/registry/v1/registry.grpc.pb.h"

namespace wangge::testing {
namespace {

// A free port below Linux's ephemeral range (32768-60999): a service
// restarted on its port must not find it taken by some client's outgoing
// connection in the meantime.
int FreePort() {
  thread_local absl::BitGen rng;
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = absl::Uniform(rng, 20000, 32000);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    close(fd);
    if (free) return port;
  }
  return 0;
}

}  // namespace

Stack::Stack(const std::string& name)
    : dir_(MakeTempDir(name)), clock_file_(dir_ + "/clock.offset") {
  WriteFile(dir_ + "/jwt.key", kDevSecret);
  WriteFile(clock_file_, "0\n");
}

Stack::~Stack() {
  for (auto& [name, p] : processes_) p->Signal(SIGTERM);
  for (auto& [name, p] : processes_) (void)p->Wait(absl::Seconds(10));
}

void Stack::RestartBroker() {
  broker_.Signal(SIGKILL);
  (void)broker_.Wait(absl::Seconds(10));
  ASSERT_TRUE(broker_
                  .Start({"services/devbroker/devbroker",
                          "--bootstrap_file=" + dir_ + "/kafka.bootstrap",
                          "--partitions=4"})
                  .ok());
  ASSERT_TRUE(broker_.WaitForLine("bootstrap ", absl::Seconds(30)).ok());
}

void Stack::StartBroker() {
  ASSERT_TRUE(broker_
                  .Start({"services/devbroker/devbroker",
                          "--bootstrap_file=" + dir_ + "/kafka.bootstrap",
                          "--partitions=4"})
                  .ok());
  ASSERT_TRUE(broker_.WaitForLine("bootstrap ", absl::Seconds(30)).ok());
  for (const char* s :
       {"registry", "intake", "supervision", "dispatch", "oversight"}) {
    addr_[s] = absl::StrCat("127.0.0.1:", FreePort());
  }
}

void Stack::Start(const std::string& service,
                  const std::vector<std::string>& followed) {
  if (!followed.empty()) followed_[service] = followed;
  std::map<std::string, std::string> env = {
      {"LISTEN", addr_[service]},
      {"METRICS_LISTEN", ""},
      {"PLAINTEXT", "true"},
      {"DATA_DIR", dir_ + "/" + service},
      {"JWT_KEY_FILE", dir_ + "/jwt.key"},
      {"PARTITIONS", "4"},
      {"LOG_LEVEL", "warning"},
      {"KAFKA_BOOTSTRAP_FILE", dir_ + "/kafka.bootstrap"},
      {"DEV_CLOCK_OFFSET_FILE", clock_file_},
      {"REVEAL_RATE_PER_AGENT", "0"},  // the load generator reads many
      {"CHECKPOINT_EVERY", "200ms"}};
  for (const auto& peer : followed_[service]) {
    env[absl::AsciiStrToUpper(peer) + "_ADDR"] = addr_[peer];
  }
  auto p = std::make_unique<Subprocess>();
  ASSERT_TRUE(p->Start({"services/" + service + "/" + service}, env).ok());
  auto line = p->WaitForLine("listening ", absl::Seconds(60));
  ASSERT_TRUE(line.ok()) << service << ": " << line.status();
  processes_[service] = std::move(p);
}

void Stack::Kill(const std::string& service) {
  auto it = processes_.find(service);
  if (it == processes_.end()) return;
  it->second->Signal(SIGKILL);
  (void)it->second->Wait(absl::Seconds(10));
  processes_.erase(it);
}

std::shared_ptr<grpc::Channel> Stack::Channel(const std::string& service) {
  return grpc::CreateChannel(addr_[service],
                             grpc::InsecureChannelCredentials());
}

std::unique_ptr<grpc::ClientContext> Stack::Context(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(20));
  return ctx;
}

void Stack::ImportDemo() { ImportDemoInto(addr_["registry"]); }

void ImportDemoInto(const std::string& address) {
  auto city = registry::GenerateDemo(1, absl::FromUnixSeconds(1704067200));
  ASSERT_TRUE(city.ok());
  auto stub = registry::v1::RegistryService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  auto ctx = Stack::Context(DevToken(common::v1::ROLE_ADMINISTRATOR));
  registry::v1::ImportDeploymentRequest r;
  r.set_request_id("demo");
  r.set_deployment_json(registry::DeploymentToJson(*city));
  registry::v1::ImportDeploymentResponse response;
  grpc::Status s = stub->ImportDeployment(ctx.get(), r, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
}

void Stack::WaitReady(const std::string& service) {
  auto health = ::grpc::health::v1::Health::NewStub(Channel(service));
  for (int i = 0; i < 600; ++i) {
    grpc::ClientContext ctx;
    ::grpc::health::v1::HealthCheckRequest req;
    req.set_service("readiness");
    ::grpc::health::v1::HealthCheckResponse resp;
    if (health->Check(&ctx, req, &resp).ok() &&
        resp.status() == ::grpc::health::v1::HealthCheckResponse::SERVING) {
      return;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  FAIL() << service << " never became ready";
}

void Stack::SetClockOffset(double seconds) {
  // By rename: every process reads either the old offset or the new one.
  WriteFile(clock_file_ + ".new", absl::StrCat(seconds, "\n"));
  ASSERT_EQ(::rename((clock_file_ + ".new").c_str(), clock_file_.c_str()), 0);
}

}  // namespace wangge::testing
