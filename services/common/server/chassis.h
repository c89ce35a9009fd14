#ifndef WANGGE_SERVICES_COMMON_SERVER_CHASSIS_H_
#define WANGGE_SERVICES_COMMON_SERVER_CHASSIS_H_

// The service chassis: what every Wangge service's gRPC server has.
//
// - a callback-API gRPC server with TLS or mTLS from flags (plaintext only
//   when --plaintext), the standard health service with separate "liveness"
//   and "readiness" names, and server reflection;
// - the method guard: every handler enters through Unary()/Stream(), which
//   verifies the bearer token, checks the method's declared roles
//   (wangge.common.v1.policy) and the caller's area scope before the body
//   runs. gRPC 1.51's server interceptors cannot reject a call, so this is a
//   wrapper, not an interceptor. A service whose method declares no policy
//   fails RegisterService, and so fails to start;
// - Prometheus /metrics (RPC counts and latency per method);
// - graceful shutdown on SIGTERM/SIGINT: readiness off, drain in-flight calls
//   up to --drain_timeout, run the shutdown hooks (flush Kafka, close
//   stores) in reverse order of registration.
//
// Lifecycle: construct, Init(), RegisterService() for each service, Start(),
// then WaitForShutdownSignal() (or Shutdown() from a test).
// Thread safety: Unary()/Stream()/Authorize() are called concurrently by gRPC
// threads; registration happens before Start() on one thread.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/auth/token.h"
#include "services/common/clock/clock.h"
#include "services/common/config/config.h"
#include "services/common/metrics/metrics.h"
#include "services/common/status/errors.h"
#include "services/common/status/grpc_status.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/common/v1/options.pb.h"

namespace wangge::server {

// How long a query waits for its min_positions (read-your-writes across
// services) before DEADLINE_EXCEEDED.
inline constexpr absl::Duration kMinPositionsWait = absl::Seconds(10);

// Until when a call waits for its min_positions: kMinPositionsWait from now,
// or the client's deadline if that comes first (a handler thread is not
// held for a caller that has given up).
absl::Time MinPositionsDeadline(const grpc::CallbackServerContext* context);

// The verified caller of one call.
struct Caller {
  wangge::common::v1::Actor actor;
  std::vector<std::string> scopes;
  bool InScope(absl::string_view area_code) const {
    return auth::InScope(scopes, area_code);
  }
  // For a command on an existing case, task, report or notice: its area must
  // be in the caller's scope, as a request naming an area is checked by the
  // guard. PERMISSION_DENIED "area_scope" otherwise.
  absl::Status RequireScope(absl::string_view area_code) const;
  // The same for an aggregate's area as looked up: NOT_FOUND passes (the
  // command answers it), any other lookup error is returned (not in scope
  // by default).
  absl::Status RequireScopeOf(const absl::StatusOr<std::string>& area) const;
};

// Runs handler bodies off gRPC's callback threads: a body may wait (a group
// commit's fsync, min_positions), and gRPC has only a few of those threads.
class HandlerPool {
 public:
  // At most `max_queued` bodies wait for a thread (0: 32 per thread).
  explicit HandlerPool(int threads, size_t max_queued = 0);
  ~HandlerPool();
  // False (and `task` not run) when the queue is full: the server is
  // overloaded and the call is better refused at once than late.
  bool TryRun(std::function<void()> task);

 private:
  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

class Chassis {
 public:
  Chassis(config::ServiceConfig config, const Clock* clock);
  ~Chassis();

  Chassis(const Chassis&) = delete;
  Chassis& operator=(const Chassis&) = delete;

  // Loads the token key, starts /metrics, logs the resolved configuration.
  absl::Status Init();

  // Registers a gRPC service; every method must declare a policy.
  absl::Status RegisterService(grpc::Service* service,
                               const google::protobuf::ServiceDescriptor* d);

  // The same, finding the descriptor from the generated gRPC class
  // (e.g. Register<wangge::intake::v1::IntakeService>(&impl)).
  template <typename GrpcService>
  absl::Status Register(grpc::Service* service) {
    const auto* d =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            GrpcService::service_full_name());
    if (d == nullptr) {
      return absl::InternalError("service descriptor not linked");
    }
    return RegisterService(service, d);
  }

  // Builds and starts the server. Liveness is SERVING from here; readiness
  // stays NOT_SERVING until SetReady(true).
  absl::Status Start();
  int port() const { return port_; }
  std::string address() const;

  void SetReady(bool ready);
  // The health port's listening port (0 without --health_listen).
  int health_port() const { return health_port_; }
  // `ack_after_kafka`: a command's answer (a response with `positions`)
  // waits until `gate` passes for this service's positions in it; the
  // gate's error (UNAVAILABLE) otherwise, the write kept. Set before Start.
  using AcknowledgementGate = std::function<absl::Status(
      const std::vector<wangge::common::v1::Position>&)>;
  void SetAcknowledgementGate(AcknowledgementGate gate) {
    ack_gate_ = std::move(gate);
  }
  // A method whose answer is not held by that gate: a read that only logs
  // its access (a retry would read and log again, not get a first answer).
  void ExemptFromAcknowledgementGate(const std::string& method) {
    ungated_.insert(method);
  }

  void AddShutdownHook(std::function<void()> hook);

  // Installs SIGTERM/SIGINT handlers (call early in main), then blocks until
  // one arrives and runs Shutdown().
  static void InstallSignalHandlers();
  void WaitForShutdownSignal();
  // Readiness off, drain, hooks. Idempotent.
  void Shutdown();

  // The guard. Returns the caller (and counts the call as entering its
  // handler), or the status to answer with.
  absl::StatusOr<Caller> Authorize(grpc::CallbackServerContext* context,
                                   absl::string_view method,
                                   const google::protobuf::Message& request);

  // A unary handler: guard, then `body`, then status mapping and metrics.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Unary(
      grpc::CallbackServerContext* context, absl::string_view method,
      const Request* request, Response* response,
      const std::function<absl::Status(const Caller&)>& body);

  // A server-streaming handler: guard, then `make` builds the reactor.
  // On refusal a reactor that finishes at once with the error is returned.
  template <typename Response>
  grpc::ServerWriteReactor<Response>* Stream(
      grpc::CallbackServerContext* context, absl::string_view method,
      const google::protobuf::Message& request,
      const std::function<grpc::ServerWriteReactor<Response>*(const Caller&)>&
          make);

  // How many calls of `method` (full name) passed the guard into the body.
  uint64_t handler_entries(absl::string_view method) const;
  // Whether `method`'s declared roles include `role` (for a body that shows
  // one method's data inside another's answer).
  bool RoleMayCall(absl::string_view method,
                   wangge::common::v1::Role role) const;

  metrics::Metrics& metrics() { return metrics_; }
  const config::ServiceConfig& config() const { return config_; }
  const Clock* clock() const { return clock_; }

 private:
  struct MethodEntry {
    std::string short_name;
    wangge::common::v1::MethodPolicy policy;
    // Calls that passed the guard; a shared_ptr so entries stay copyable.
    std::shared_ptr<std::atomic<uint64_t>> entered =
        std::make_shared<std::atomic<uint64_t>>(0);
  };

  void Record(absl::string_view method, grpc::StatusCode code, absl::Time start,
              const google::protobuf::Message* request = nullptr);

  const config::ServiceConfig config_;
  const Clock* const clock_;
  metrics::Metrics metrics_;
  std::unique_ptr<HandlerPool> pool_;
  // OK, or the acknowledgement gate's error for the positions `response`
  // names (OK when no gate is set or it names none of ours).
  absl::Status PassAcknowledgementGate(
      const google::protobuf::Message& response) const;
  AcknowledgementGate ack_gate_;
  absl::flat_hash_set<std::string> ungated_;  // written before Start
  // CANCELLED or DEADLINE_EXCEEDED if the client is gone, else OK.
  static grpc::Status Abandoned(grpc::CallbackServerContext* context);
  std::unique_ptr<auth::TokenVerifier> verifier_;
  // Full method name -> entry; written before Start(), read-only after.
  absl::flat_hash_map<std::string, MethodEntry> methods_;
  std::vector<grpc::Service*> services_;
  void SetHealth(bool ready, bool live);
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  // --health_listen: grpc.health.v1 only, plaintext, mirroring server_'s.
  std::unique_ptr<grpc::Server> health_server_;
  int health_port_ = 0;
  absl::Mutex mu_;
  std::vector<std::function<void()>> hooks_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

// Finishes a stream at once with an error.
template <typename Response>
class RejectedStream final : public grpc::ServerWriteReactor<Response> {
 public:
  explicit RejectedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

template <typename Request, typename Response>
grpc::ServerUnaryReactor* Chassis::Unary(
    grpc::CallbackServerContext* context, absl::string_view method,
    const Request* request, Response* response,
    const std::function<absl::Status(const Caller&)>& body) {
  const absl::Time start = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = Authorize(context, method, *request);
  if (!caller.ok()) {
    grpc::Status g = status::ToGrpcStatus(caller.status());
    Record(method, g.error_code(), start, request);
    reactor->Finish(g);
    return reactor;
  }
  // The body runs on the handler pool; request, response and context stay
  // valid until Finish.
  const bool queued = pool_->TryRun(
      [this, context, reactor, request, start, response, body,
       method = std::string(method), caller = std::move(*caller)] {
        // A caller who gave up while the call waited for a thread: the body
        // (a command's write) does not run for nobody.
        grpc::Status g = Abandoned(context);
        if (g.ok()) {
          absl::Status done = body(caller);
          // After the body: its in-memory effects are made whatever the gate
          // says; only the answer waits.
          if (done.ok() && !ungated_.contains(method)) {
            done = PassAcknowledgementGate(*response);
          }
          g = status::ToGrpcStatus(done);
        }
        Record(method, g.error_code(), start, request);
        reactor->Finish(g);
      });
  if (!queued) {
    grpc::Status g = status::ToGrpcStatus(status::ResourceExhausted(
        "every handler is busy and the queue is full", absl::Seconds(1)));
    Record(method, g.error_code(), start, request);
    reactor->Finish(g);
  }
  return reactor;
}

template <typename Response>
grpc::ServerWriteReactor<Response>* Chassis::Stream(
    grpc::CallbackServerContext* context, absl::string_view method,
    const google::protobuf::Message& request,
    const std::function<grpc::ServerWriteReactor<Response>*(const Caller&)>&
        make) {
  const absl::Time start = absl::Now();
  auto caller = Authorize(context, method, request);
  if (!caller.ok()) {
    grpc::Status g = status::ToGrpcStatus(caller.status());
    Record(method, g.error_code(), start);
    return new RejectedStream<Response>(g);
  }
  Record(method, grpc::StatusCode::OK, start);
  return make(*caller);
}

}  // namespace wangge::server

#endif  // WANGGE_SERVICES_COMMON_SERVER_CHASSIS_H_
