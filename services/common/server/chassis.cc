#include "services/common/server/chassis.h"

#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/log/log.h"
#include "services/common/server/certificate.h"
#include "services/common/server/channel.h"
#include "services/common/server/threaded_stream.h"
#include "services/common/status/errors.h"

namespace wangge::server {
namespace {

using google::protobuf::FieldDescriptor;

// Server reflection on the main server or not. Linking gRPC's reflection
// library registers its plugin for every server of the process (a static
// initializer), so turning it off means taking the plugin out of this
// builder's list.
class ReflectionOption : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionOption(bool on) : on_(on) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    const auto is_reflection =
        [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
          return p->name() == kPluginName;
        };
    plugins->erase(
        std::remove_if(plugins->begin(), plugins->end(), is_reflection),
        plugins->end());
    if (on_) {
      plugins->push_back(
          std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
    }
  }

 private:
  static constexpr char kPluginName[] = "proto_server_reflection";
  const bool on_;
};
using google::protobuf::Message;

constexpr char kLiveness[] = "liveness";
constexpr char kReadiness[] = "readiness";

// Self-pipe: the signal handler only writes a byte.
int g_signal_pipe[2] = {-1, -1};

void OnSignal(int) {
  const char byte = 1;
  ssize_t n = ::write(g_signal_pipe[1], &byte, 1);
  (void)n;
}

// Reads a string field by dotted path ("area.code"); empty when unset.
absl::StatusOr<std::string> StringAtPath(const Message& message,
                                         absl::string_view path) {
  const Message* current = &message;
  std::vector<absl::string_view> parts = absl::StrSplit(path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const FieldDescriptor* field =
        current->GetDescriptor()->FindFieldByName(std::string(parts[i]));
    if (field == nullptr || field->is_repeated()) {
      return absl::InternalError(
          absl::StrCat("policy scope_field ", path, " does not exist"));
    }
    const auto* reflection = current->GetReflection();
    if (i + 1 == parts.size()) {
      if (field->type() != FieldDescriptor::TYPE_STRING) {
        return absl::InternalError(
            absl::StrCat("policy scope_field ", path, " is not a string"));
      }
      return reflection->GetString(*current, field);
    }
    if (field->type() != FieldDescriptor::TYPE_MESSAGE) {
      return absl::InternalError(
          absl::StrCat("policy scope_field ", path, " is not a message path"));
    }
    if (!reflection->HasField(*current, field)) return std::string();
    current = &reflection->GetMessage(*current, field);
  }
  return std::string();
}

}  // namespace

HandlerPool::HandlerPool(int threads, size_t max_queued)
    : max_queued_(max_queued > 0 ? max_queued
                                 : 32 * static_cast<size_t>(threads)) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      while (true) {
        std::function<void()> task;
        {
          absl::MutexLock lock(&mu_);
          auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
            return !tasks_.empty() || stopping_;
          };
          mu_.Await(absl::Condition(&ready));
          if (tasks_.empty()) return;  // stopping and drained
          task = std::move(tasks_.front());
          tasks_.pop_front();
        }
        task();
      }
    });
  }
}

HandlerPool::~HandlerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (auto& t : threads_) t.join();
}

bool HandlerPool::TryRun(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (tasks_.size() >= max_queued_) return false;
  tasks_.push_back(std::move(task));
  return true;
}

grpc::Status Chassis::Abandoned(grpc::CallbackServerContext* context) {
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
  }
  if (absl::Now() >= absl::FromChrono(context->deadline())) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        "the deadline passed before a handler was free");
  }
  return grpc::Status::OK;
}

Chassis::Chassis(config::ServiceConfig config, const Clock* clock)
    : config_(std::move(config)),
      clock_(clock),
      metrics_(config_.service),
      pool_(std::make_unique<HandlerPool>(config_.handler_threads)) {
  StreamBudget::SetLimit(config_.max_streams);
  StreamBudget::SetCallerLimit(config_.max_streams_per_caller);
}

Chassis::~Chassis() { Shutdown(); }

absl::Status Chassis::Init() {
  log::SetService(config_.service);
  log::SetMinLevel(
      log::ParseLevel(config_.log_level).value_or(log::Level::kInfo));
  // The resolved configuration, once, as one line.
  log::Info("configuration", {{"config", config::Describe(config_)}});

  auto key = ReadFileToString(config_.auth.key_file);
  if (!key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("jwt_key_file: ", key.status().message()));
  }
  // An HS256 secret that is short, or is a PEM key (RS256's public key read
  // as an HMAC secret lets anyone who has it sign tokens: a production
  // config that left out --jwt_algorithm), is refused at start.
  if (config_.auth.algorithm == "HS256" &&
      (key->size() < 32 || absl::StrContains(*key, "-----BEGIN"))) {
    return status::InvalidField(
        "jwt_key_file",
        "an HS256 secret must be at least 32 bytes and not a PEM key (is "
        "--jwt_algorithm RS256 or ES256 missing?)");
  }
  verifier_ = std::make_unique<auth::TokenVerifier>(
      config_.auth.algorithm, *key, config_.auth.audience, clock_);
  return metrics_.Serve(config_.metrics_listen);
}

absl::Status Chassis::RegisterService(
    grpc::Service* service, const google::protobuf::ServiceDescriptor* d) {
  if (server_) return absl::FailedPreconditionError("server already started");
  std::vector<std::string> undeclared;
  for (int i = 0; i < d->method_count(); ++i) {
    const auto* m = d->method(i);
    const auto& policy = m->options().GetExtension(wangge::common::v1::policy);
    if (policy.roles_size() == 0) {
      undeclared.push_back(m->full_name());
      continue;
    }
    MethodEntry entry;
    entry.short_name = m->name();
    entry.policy = policy;
    methods_[m->full_name()] = std::move(entry);
  }
  if (!undeclared.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("methods without a declared permission: ",
                     absl::StrJoin(undeclared, ", ")));
  }
  services_.push_back(service);
  return absl::OkStatus();
}

absl::Status Chassis::Start() {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<ReflectionOption>(config_.reflection));
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (config_.tls.plaintext) {
    creds = grpc::InsecureServerCredentials();
  } else {
    // Read once here so that a missing or broken file stops the start-up
    // with its name, rather than failing every handshake later.
    std::vector<std::pair<std::string, std::string>> watched = {
        {"server", config_.tls.cert_file}};
    if (!config_.tls.ca_file.empty()) {
      watched.push_back({"ca", config_.tls.ca_file});
    }
    for (const auto& [which, path] : watched) {
      auto pem = ReadFileToString(path);
      if (!pem.ok()) return pem.status();
      auto not_after = CertificateNotAfter(*pem);
      if (!not_after.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": ", not_after.status().message()));
      }
    }
    auto key = ReadFileToString(config_.tls.key_file);
    if (!key.ok()) return key.status();
    // Served from the files as they are now: a renewal on disk is picked up
    // within `refresh` without a restart (gRPC reads key and certificate
    // together; Kubernetes swaps a mounted Secret's files in one rename).
    grpc::experimental::TlsServerCredentialsOptions opts(
        WatchTlsFiles(config_.tls.key_file, config_.tls.cert_file,
                      config_.tls.ca_file, config_.tls.refresh));
    opts.watch_identity_key_cert_pairs();
    if (config_.tls.ca_file.empty()) {
      opts.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    } else {
      opts.watch_root_certs();
      opts.set_cert_request_type(
          GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    }
    creds = grpc::experimental::TlsServerCredentials(opts);
    metrics_.AddCollectable(
        std::make_shared<CertificateExpiryCollector>(std::move(watched)));
  }
  builder.AddListeningPort(config_.listen, creds, &port_);
  builder.SetMaxReceiveMessageSize(config_.max_request_bytes);
  // No SO_REUSEPORT (gRPC's default): with it a second process on the same
  // port starts without a word and takes half the calls to its own store,
  // and a bind to port 0 may be given a port another process still holds
  // (an end-to-end test saw a neighbour's draining server answer).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  for (auto* s : services_) builder.RegisterService(s);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config_.listen));
  }
  if (!config_.health_listen.empty()) {
    // Kubelet's gRPC probes speak plaintext and present no certificate.
    grpc::ServerBuilder health_builder;
    health_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    // It keeps gRPC's reflection plugin: gRPC 1.51 creates the default
    // health service only on a server with synchronous methods, and
    // reflection is the one this server has. Not reachable from other pods
    // (no NetworkPolicy opens it); a health service of our own would let it
    // go.
    health_builder.AddListeningPort(config_.health_listen,
                                    grpc::InsecureServerCredentials(),
                                    &health_port_);
    health_server_ = health_builder.BuildAndStart();
    if (!health_server_ || health_port_ == 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", config_.health_listen));
    }
  }
  SetReady(false);
  log::Info("serving", {{"address", address()},
                        {"health_port", std::to_string(health_port_)},
                        {"metrics_port", std::to_string(metrics_.port())},
                        {"tls", config_.tls.plaintext ? "off" : "on"}});
  return absl::OkStatus();
}

std::string Chassis::address() const {
  auto colon = config_.listen.rfind(':');
  return absl::StrCat(config_.listen.substr(0, colon), ":", port_);
}

void Chassis::SetReady(bool ready) {
  if (!server_) return;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;  // draining: stays not ready
  }
  SetHealth(ready, true);
}

void Chassis::SetHealth(bool ready, bool live) {
  for (grpc::Server* s : {server_.get(), health_server_.get()}) {
    if (s == nullptr) continue;
    auto* health = s->GetHealthCheckService();
    // The unnamed service and each registered service follow readiness; the
    // bulk setter touches every name, so liveness is set again after it.
    health->SetServingStatus(ready);
    health->SetServingStatus(kReadiness, ready);
    health->SetServingStatus(kLiveness, live);
  }
}

absl::Time MinPositionsDeadline(const grpc::CallbackServerContext* context) {
  const absl::Time ours = absl::Now() + kMinPositionsWait;
  if (context == nullptr) return ours;
  return std::min(ours, absl::FromChrono(context->deadline()));
}

absl::Status Chassis::PassAcknowledgementGate(
    const google::protobuf::Message& response) const {
  if (!ack_gate_) return absl::OkStatus();
  const auto* field = response.GetDescriptor()->FindFieldByName("positions");
  if (field == nullptr || !field->is_repeated() ||
      field->message_type() != wangge::common::v1::Position::descriptor()) {
    return absl::OkStatus();  // a query: nothing written
  }
  const auto* reflection = response.GetReflection();
  std::vector<wangge::common::v1::Position> ours;
  for (int i = 0; i < reflection->FieldSize(response, field); ++i) {
    const auto& p = static_cast<const wangge::common::v1::Position&>(
        reflection->GetRepeatedMessage(response, field, i));
    if (p.service() == config_.service) ours.push_back(p);
  }
  if (ours.empty()) return absl::OkStatus();
  return ack_gate_(ours);
}

absl::Status Caller::RequireScopeOf(
    const absl::StatusOr<std::string>& area) const {
  if (area.status().code() == absl::StatusCode::kNotFound) {
    return absl::OkStatus();
  }
  if (!area.ok()) return area.status();
  return RequireScope(*area);
}

absl::Status Caller::RequireScope(absl::string_view area_code) const {
  if (InScope(area_code)) return absl::OkStatus();
  if (area_code.empty()) {
    return status::PermissionDenied("area_scope",
                                    "this needs the whole city (scope *)");
  }
  return status::PermissionDenied(
      "area_scope", absl::StrCat("area ", area_code, " is outside your scope"));
}

void Chassis::AddShutdownHook(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  hooks_.push_back(std::move(hook));
}

void Chassis::InstallSignalHandlers() {
  if (g_signal_pipe[0] >= 0) return;
  if (::pipe2(g_signal_pipe, O_CLOEXEC) != 0) return;
  // A crash (SIGSEGV, SIGABRT, ...) logs its signal and stack before the
  // process dies, so an operator sees where. SIGTERM and SIGINT are ours
  // (below): they drain.
  absl::InitializeSymbolizer("/proc/self/exe");
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

void Chassis::WaitForShutdownSignal() {
  InstallSignalHandlers();
  char byte;
  while (::read(g_signal_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  log::Info("shutdown signal received");
  Shutdown();
}

void Chassis::Shutdown() {
  std::vector<std::function<void()>> hooks;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    hooks.swap(hooks_);
  }
  if (server_) {
    SetHealth(false, false);
    const absl::Time t0 = absl::Now();
    // Waits for in-flight calls; cancels what is left at the deadline.
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoSeconds(config_.drain_timeout));
    server_->Wait();
    if (health_server_) {
      health_server_->Shutdown();
      health_server_->Wait();
    }
    log::Info(
        "drained",
        {{"seconds", absl::StrCat(absl::ToDoubleSeconds(absl::Now() - t0))}});
  }
  for (auto it = hooks.rbegin(); it != hooks.rend(); ++it) (*it)();
  log::Info("stopped");
}

absl::StatusOr<Caller> Chassis::Authorize(grpc::CallbackServerContext* context,
                                          absl::string_view method,
                                          const Message& request) {
  auto entry = methods_.find(method);
  if (entry == methods_.end()) {
    return status::PermissionDenied(
        "method_policy", absl::StrCat(method, " declares no permission"));
  }
  const auto& metadata = context->client_metadata();
  auto auth = metadata.find("authorization");
  if (auth == metadata.end()) {
    return absl::UnauthenticatedError("missing bearer token");
  }
  absl::string_view header(auth->second.data(), auth->second.size());
  if (!absl::ConsumePrefix(&header, "Bearer ")) {
    return absl::UnauthenticatedError("authorization is not a bearer token");
  }
  auto claims = verifier_->Verify(header);
  if (!claims.ok()) return claims.status();

  const auto& policy = entry->second.policy;
  if (std::find(policy.roles().begin(), policy.roles().end(), claims->role) ==
      policy.roles().end()) {
    return status::PermissionDenied(
        "method_role",
        absl::StrCat("role ", auth::RoleName(claims->role), " may not call ",
                     entry->second.short_name));
  }
  if (!policy.scope_field().empty()) {
    auto area = StringAtPath(request, policy.scope_field());
    if (!area.ok()) return area.status();
    if (area->empty()) {
      // No area named: the whole deployment, for "*" scopes only.
      if (std::find(claims->scopes.begin(), claims->scopes.end(), "*") ==
          claims->scopes.end()) {
        return status::PermissionDenied(
            "area_scope", absl::StrCat("name an area (", policy.scope_field(),
                                       ") inside your scope"));
      }
    } else if (!auth::InScope(claims->scopes, *area)) {
      return status::PermissionDenied(
          "area_scope", absl::StrCat("area ", *area, " is outside your scope"));
    }
  }
  Caller caller;
  caller.actor.set_subject(claims->subject);
  caller.actor.set_role(claims->role);
  caller.actor.set_department(claims->department);
  caller.actor.set_channel(claims->channel);
  caller.scopes = std::move(claims->scopes);
  entry->second.entered->fetch_add(1);  // the body runs next
  return caller;
}

bool Chassis::RoleMayCall(absl::string_view method,
                          wangge::common::v1::Role role) const {
  auto it = methods_.find(method);
  if (it == methods_.end()) return false;
  const auto& roles = it->second.policy.roles();
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

uint64_t Chassis::handler_entries(absl::string_view method) const {
  auto it = methods_.find(method);
  return it == methods_.end() ? 0 : it->second.entered->load();
}

void Chassis::Record(absl::string_view method, grpc::StatusCode code,
                     absl::Time start,
                     const google::protobuf::Message* request) {
  absl::string_view short_name = method;
  auto dot = method.rfind('.');
  if (dot != absl::string_view::npos) short_name = method.substr(dot + 1);
  const absl::Duration latency = absl::Now() - start;
  metrics_.RecordRpc(short_name, code, latency);
  // Server-side failures are worth a line each; the rest at debug level.
  const bool server_fault = code == grpc::StatusCode::INTERNAL ||
                            code == grpc::StatusCode::UNKNOWN ||
                            code == grpc::StatusCode::DATA_LOSS;
  // The case the call is about, where the request names one.
  std::string case_id;
  if (request != nullptr) {
    const FieldDescriptor* f =
        request->GetDescriptor()->FindFieldByName("case_id");
    if (f != nullptr && f->type() == FieldDescriptor::TYPE_STRING &&
        !f->is_repeated()) {
      case_id = request->GetReflection()->GetString(*request, f);
    }
  }
  log::Write(server_fault ? log::Level::kError : log::Level::kDebug, "rpc",
             {{"method", std::string(method)},
              {"code", std::to_string(static_cast<int>(code))},
              {"micros", std::to_string(absl::ToInt64Microseconds(latency))},
              {"case_id", case_id}});
}

}  // namespace wangge::server
