// ReportCase over gRPC on loopback (manual): the intake server (chassis,
// guard, validation, locate, event store in `sync` mode) with the demo
// registry, and N client threads each sending one report at a time.
//
//   bazel run -c opt //services/intake:intake_bench -- [clients] [seconds]
//       [in_flight]

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/testing/client_load.h"
#include "services/common/testing/test_support.h"
#include "services/intake/app/intake_app.h"
#include "services/intake/server/intake_server.h"
#include "services/registry/generator/city_generator.h"

using namespace wangge;

namespace {

std::string Token(int client) {
  return testing::DevToken(common::v1::ROLE_CHANNEL, {"*"},
                           absl::StrCat("system-", client));
}

intake::v1::ReportCaseRequest Report(int client, uint64_t n) {
  intake::v1::ReportCaseRequest r;
  r.set_request_id(absl::StrCat(client, "-", n));
  r.set_category_code("event/05/0505");
  r.set_description("机动车乱停放 illegal parking");
  auto* p = r.mutable_location()->mutable_point();
  p->set_longitude(104.05 + 0.0002 * ((n + 1) % 100));
  p->set_latitude(30.655 + 0.0002 * (client % 50));
  p->set_coordinate_system(common::v1::COORDINATE_SYSTEM_WGS84);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const int clients = argc > 1 ? std::atoi(argv[1]) : 32;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  // With an in-flight count, each client keeps that many calls going through
  // gRPC's callback API (no client thread per call); without, one blocking
  // call at a time on a thread of its own.
  const int in_flight = argc > 3 ? std::atoi(argv[3]) : 0;
  const std::string dir = "/tmp/wangge-intake-bench";
  if (std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()) != 0)
    return 1;
  setenv("TEST_TMPDIR", dir.c_str(), 1);
  eventstore::Options o;
  o.service = "intake";
  o.path = dir + "/store";
  o.partitions = 8;
  o.signer =
      *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_ED25519, "b");
  auto store = *eventstore::EventStore::Open(o);
  auto keys = *intake::KeyStore::Open(dir + "/keys");
  intake::IntakeOptions options;
  options.channel_rate = {0, 1};
  options.caller_rate = {0, 1};
  intake::IntakeApp app(store.get(), keys.get(), options, Clock::Real());
  // The demo registry, as the follower would store it.
  auto d = registry::GenerateDemo(1, absl::FromUnixSeconds(1704067200));
  registry::RegistryState scratch;
  auto events = *registry::DecideImport(scratch, *d);
  uint64_t seq = 0;
  for (const auto& e : events) {
    common::v1::EventEnvelope env;
    env.set_event_type(registry::PayloadOf(e).GetDescriptor()->full_name());
    env.set_stream_id(registry::StreamOf(e));
    env.set_sequence(++seq);
    env.mutable_payload()->set_value(
        registry::PayloadOf(e).SerializeAsString());
    if (!store->Append(*app.RegistryEffects(env)).ok()) return 1;
    app.OnRegistryApplied(env);
  }
  config::ServiceConfig config = testing::LoopbackConfig("intake", dir);
  server::Chassis chassis(config, Clock::Real());
  intake::IntakeServer service(&chassis, &app);
  if (!chassis.Init().ok() ||
      !chassis.Register<intake::v1::IntakeService>(&service).ok() ||
      !chassis.Start().ok()) {
    return 1;
  }
  using Request = intake::v1::ReportCaseRequest;
  using Response = intake::v1::ReportCaseResponse;
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<intake::v1::IntakeService::Stub>> stubs;
  std::vector<std::unique_ptr<testing::CallbackLoad<Request, Response>>>
      callback_clients;
  std::vector<std::unique_ptr<testing::BlockingLoad<Request, Response>>>
      blocking_clients;
  const absl::Time start = absl::Now();
  for (int c = 0; c < clients; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("grpc.channel_id", c);  // a connection per client
    stubs.push_back(
        intake::v1::IntakeService::NewStub(grpc::CreateCustomChannel(
            chassis.address(), grpc::InsecureChannelCredentials(), args)));
    auto* stub = stubs.back().get();
    auto report = [c](uint64_t n) { return Report(c, n); };
    if (in_flight > 0) {
      callback_clients.push_back(
          std::make_unique<testing::CallbackLoad<Request, Response>>(
              [stub](grpc::ClientContext* ctx, const Request* r, Response* resp,
                     std::function<void(grpc::Status)> done) {
                stub->async()->ReportCase(ctx, r, resp, std::move(done));
              },
              report, "Bearer " + Token(c), in_flight, &stop));
    } else {
      blocking_clients.push_back(
          std::make_unique<testing::BlockingLoad<Request, Response>>(
              [stub](grpc::ClientContext* ctx, const Request& r,
                     Response* resp) { return stub->ReportCase(ctx, r, resp); },
              report, "Bearer " + Token(c), &stop));
    }
  }
  absl::SleepFor(absl::Seconds(seconds));
  stop = true;
  std::vector<double> all;
  uint64_t failures = 0;
  for (auto& client : callback_clients) client->Drain(&all, &failures);
  for (auto& client : blocking_clients) client->Drain(&all, &failures);
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::sort(all.begin(), all.end());
  std::printf(
      "| ReportCase, %d clients x %d in flight (%s), %d s, sync | %.0f calls/s "
      "| p50 %.0f us | p99 "
      "%.0f us | %llu failed (outside the city) | %llu group commits, %llu WAL "
      "fsyncs |\n",
      clients, std::max(in_flight, 1),
      in_flight > 0 ? "callback API" : "blocking stubs", seconds,
      all.size() / secs, all[all.size() / 2], all[all.size() * 99 / 100],
      static_cast<unsigned long long>(failures),
      static_cast<unsigned long long>(store->group_commits()),
      static_cast<unsigned long long>(store->wal_syncs()));
  chassis.Shutdown();
  return 0;
}
