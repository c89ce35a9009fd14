// Unary gRPC calls over loopback on this machine (manual): what any service
// call costs before the service does anything, so the ReportCase and load
// figures can be read against it (docs/benchmarks.md).
//
//   bazel run -c opt //services/common/server:grpc_bench -- [seconds]
//
// Servers: a bare callback server (the body finishes the call on gRPC's own
// thread) and the chassis (token check, method policy, body on the handler
// pool). Clients in the same process, on the same two cores: 32 threads with
// one blocking call each, or 8 connections with 8 calls each in flight
// through the callback API.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/server/chassis.h"
#include "services/common/server/echo_service_for_test.h"
#include "services/common/testing/client_load.h"
#include "services/common/testing/test_support.h"
#include "wangge/testing/v1/echo.grpc.pb.h"

namespace {

using wangge::testing::v1::EchoRequest;
using wangge::testing::v1::EchoResponse;
using wangge::testing::v1::EchoService;

// Answers on the callback thread: the least a unary call can cost.
class BareEcho final : public EchoService::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const EchoRequest* request,
                                 EchoResponse* response) override {
    response->set_message(request->message());
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

struct Result {
  uint64_t calls = 0;
  uint64_t failed = 0;
  double seconds = 0;
  std::vector<double> latencies_us;
};

EchoRequest Request() {
  EchoRequest r;
  r.set_message(std::string(200, 'x'));  // about a report's size
  r.mutable_area()->set_code("110101");
  return r;
}

// `connections` clients on connections of their own for `duration`, each
// made by `make` around its stub; then their calls' figures.
template <typename Load>
Result Run(const std::string& address, int connections, absl::Duration duration,
           const std::function<std::unique_ptr<Load>(
               EchoService::Stub*, const std::atomic<bool>*)>& make) {
  static std::atomic<int> next_channel_id{0};
  std::atomic<bool> stop{false};
  const absl::Time start = absl::Now();
  std::vector<std::unique_ptr<EchoService::Stub>> stubs;
  std::vector<std::unique_ptr<Load>> loads;
  for (int c = 0; c < connections; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", next_channel_id++);  // a connection each
    stubs.push_back(EchoService::NewStub(grpc::CreateCustomChannel(
        address, grpc::InsecureChannelCredentials(), args)));
    loads.push_back(make(stubs.back().get(), &stop));
  }
  absl::SleepFor(duration);
  stop = true;
  Result r;
  for (auto& load : loads) load->Drain(&r.latencies_us, &r.failed);
  r.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  r.calls = r.latencies_us.size();
  return r;
}

Result Blocking(const std::string& address, const std::string& token,
                int threads, absl::Duration duration) {
  using Load = wangge::testing::BlockingLoad<EchoRequest, EchoResponse>;
  return Run<Load>(
      address, threads, duration,
      [&](EchoService::Stub* stub, const std::atomic<bool>* stop) {
        return std::make_unique<Load>(
            [stub](grpc::ClientContext* ctx, const EchoRequest& r,
                   EchoResponse* resp) { return stub->Echo(ctx, r, resp); },
            [](uint64_t) { return Request(); }, token, stop);
      });
}

Result Callback(const std::string& address, const std::string& token,
                int connections, int in_flight, absl::Duration duration) {
  using Load = wangge::testing::CallbackLoad<EchoRequest, EchoResponse>;
  return Run<Load>(
      address, connections, duration,
      [&](EchoService::Stub* stub, const std::atomic<bool>* stop) {
        return std::make_unique<Load>(
            [stub](grpc::ClientContext* ctx, const EchoRequest* r,
                   EchoResponse* resp, std::function<void(grpc::Status)> done) {
              stub->async()->Echo(ctx, r, resp, std::move(done));
            },
            [](uint64_t) { return Request(); }, token, in_flight, stop);
      });
}

void Print(const char* server, const char* client, Result r) {
  std::sort(r.latencies_us.begin(), r.latencies_us.end());
  const auto at = [&](double q) {
    return r.latencies_us.empty()
               ? 0.0
               : r.latencies_us[std::min(
                     r.latencies_us.size() - 1,
                     static_cast<size_t>(q * r.latencies_us.size()))];
  };
  std::printf(
      "| %s | %s | %.0f calls/s | p50 %.0f us | p99 %.0f us | %llu "
      "failed |\n",
      server, client, r.calls / r.seconds, at(0.5), at(0.99),
      static_cast<unsigned long long>(r.failed));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const absl::Duration duration =
      absl::Seconds(argc > 1 ? std::atoi(argv[1]) : 5);
  const std::string dir = "/tmp/wangge-grpc-bench";
  if (std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()) != 0) {
    return 1;
  }
  setenv("TEST_TMPDIR", dir.c_str(), 1);

  BareEcho bare;
  int bare_port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &bare_port);
  builder.RegisterService(&bare);
  std::unique_ptr<grpc::Server> bare_server = builder.BuildAndStart();
  if (bare_server == nullptr) return 1;
  const std::string bare_address = absl::StrCat("127.0.0.1:", bare_port);

  wangge::server::Chassis chassis(wangge::testing::LoopbackConfig("echo", dir),
                                  wangge::Clock::Real());
  wangge::server::EchoServiceForTest echo(&chassis);
  if (!chassis.Init().ok() || !chassis.Register<EchoService>(&echo).ok() ||
      !chassis.Start().ok()) {
    return 1;
  }
  const std::string token =
      "Bearer " + wangge::testing::DevToken(
                      wangge::common::v1::ROLE_SHIFT_LEADER, {"*"}, "bench");

  std::printf("| server | client | calls/s | p50 | p99 | failed |\n");
  std::printf("|---|---|---|---|---|---|\n");
  Print("bare callback", "32 blocking threads",
        Blocking(bare_address, "", 32, duration));
  Print("bare callback", "8 x 8 in flight (callback)",
        Callback(bare_address, "", 8, 8, duration));
  Print("chassis (token, policy, pool)", "32 blocking threads",
        Blocking(chassis.address(), token, 32, duration));
  Print("chassis (token, policy, pool)", "8 x 8 in flight (callback)",
        Callback(chassis.address(), token, 8, 8, duration));
  chassis.Shutdown();
  bare_server->Shutdown();
  return 0;
}
