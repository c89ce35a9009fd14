#ifndef WANGGE_SERVICES_COMMON_METRICS_METRICS_H_
#define WANGGE_SERVICES_COMMON_METRICS_METRICS_H_

// A service's Prometheus registry and its /metrics endpoint (prometheus-cpp).
// Modules add their own families to registry(); the chassis records every
// RPC here (count by method and code, latency histogram by method).
//
// Thread safety: all methods are safe for concurrent use after Serve().

#include <grpcpp/support/status_code_enum.h>
#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace wangge::metrics {

class Metrics {
 public:
  explicit Metrics(std::string service);
  ~Metrics();

  // Starts the HTTP endpoint ("127.0.0.1:0" picks a port).
  absl::Status Serve(const std::string& listen);
  // The bound port, or 0 when not serving.
  int port() const;

  prometheus::Registry& registry() { return *registry_; }
  // Metrics computed when scraped (kept alive here; exposed once serving).
  void AddCollectable(std::shared_ptr<prometheus::Collectable> collectable);
  const std::string& service() const { return service_; }

  void RecordRpc(absl::string_view method, grpc::StatusCode code,
                 absl::Duration latency);

 private:
  const std::string service_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
  prometheus::Family<prometheus::Counter>* rpc_total_;
  prometheus::Family<prometheus::Histogram>* rpc_latency_;
};

}  // namespace wangge::metrics

#endif  // WANGGE_SERVICES_COMMON_METRICS_METRICS_H_
