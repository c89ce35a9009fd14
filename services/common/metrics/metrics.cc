#include "services/common/metrics/metrics.h"

#include <exception>

#include "absl/strings/str_cat.h"

namespace wangge::metrics {
namespace {

const char* CodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  int i = static_cast<int>(code);
  return (i >= 0 && i <= 16) ? kNames[i] : "UNKNOWN";
}

}  // namespace

Metrics::Metrics(std::string service)
    : service_(std::move(service)),
      registry_(std::make_shared<prometheus::Registry>()) {
  rpc_total_ = &prometheus::BuildCounter()
                    .Name("wangge_rpc_requests_total")
                    .Help("gRPC calls handled, by method and status code")
                    .Labels({{"service", service_}})
                    .Register(*registry_);
  rpc_latency_ = &prometheus::BuildHistogram()
                      .Name("wangge_rpc_latency_seconds")
                      .Help("gRPC handling latency, by method")
                      .Labels({{"service", service_}})
                      .Register(*registry_);
}

Metrics::~Metrics() = default;

absl::Status Metrics::Serve(const std::string& listen) {
  if (listen.empty()) return absl::OkStatus();
  // prometheus-cpp reports bind failures by exception; keep them inside.
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(listen, 2);
    exposer_->RegisterCollectable(registry_);
    for (const auto& c : collectables_) exposer_->RegisterCollectable(c);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics endpoint ", listen, ": ", e.what()));
  }
  return absl::OkStatus();
}

void Metrics::AddCollectable(
    std::shared_ptr<prometheus::Collectable> collectable) {
  collectables_.push_back(collectable);
  if (exposer_) exposer_->RegisterCollectable(collectable);
}

int Metrics::port() const {
  if (!exposer_) return 0;
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::RecordRpc(absl::string_view method, grpc::StatusCode code,
                        absl::Duration latency) {
  const std::string m(method);
  rpc_total_->Add({{"method", m}, {"code", CodeName(code)}}).Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
  rpc_latency_->Add({{"method", m}}, kBuckets)
      .Observe(absl::ToDoubleSeconds(latency));
}

}  // namespace wangge::metrics
