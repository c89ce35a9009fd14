#ifndef WANGGE_SERVICES_COMMON_SERVER_SERVICE_MAIN_H_
#define WANGGE_SERVICES_COMMON_SERVER_SERVICE_MAIN_H_

// The body of every service's main(): flags (with environment overrides),
// validated configuration, the event store, the chassis with EventLog, the
// service's own wiring, serve, then block until SIGTERM/SIGINT and shut down
// in order (drain gRPC, then the service's hooks, then close the store).
// Exit codes: 0 on a clean stop, 1 when start-up fails, 2 on bad
// configuration.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/clock/clock.h"
#include "services/common/eventbus/consumer.h"
#include "services/common/eventbus/relay.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/server/chassis.h"

namespace wangge::server {

struct ServiceContext {
  Chassis* chassis;
  eventstore::EventStore* store;
  // Publishes the store to Kafka; null when no Kafka is configured.
  eventbus::Relay* relay;
  // Projections this service keeps (reported by GetStateDigest).
  std::vector<std::string>* projections;
  // When set, readiness follows it (checked every 200 ms), e.g. "consumers
  // have caught up"; otherwise the service is ready once serving.
  std::function<bool()> ready_when;
  // The service's clock: real, or offset by --dev_clock_offset_file.
  const Clock* clock;
};

const Clock* ServiceClock(const config::ServiceConfig& config);

// Store options from the service configuration. The checkpoint key comes
// from --signing_key_file; without one, a key is generated once under
// --data_dir (development) and a warning is logged.
absl::StatusOr<eventstore::Options> StoreOptions(
    const config::ServiceConfig& config);

// This service's bearer token for calls to peers: --service_token_file, or
// in development (HS256) one minted from the token key, with a warning.
absl::StatusOr<std::string> ServiceToken(const config::ServiceConfig& config);

// Follows `source`'s topic (and its ReadLog, at --<source>_addr, for gaps
// and catch-up) with `handler`, calling `after_apply` once each event's
// effects are durable; started, and stopped at shutdown. Null with a
// warning when --<source>_addr is not set.
absl::StatusOr<std::shared_ptr<eventbus::Consumer>> FollowSource(
    ServiceContext& context, const std::string& source,
    eventbus::Handler handler,
    std::function<void(const wangge::common::v1::EventEnvelope&)> after_apply =
        nullptr);

// A source to follow, as FollowSource takes it.
struct Source {
  std::string name;
  eventbus::Handler handler;
  std::function<void(const wangge::common::v1::EventEnvelope&)> after_apply =
      nullptr;
};

// FollowSource for each source, then readiness once they and `also` (the
// registry's follower, say) have caught up.
absl::Status FollowAll(
    ServiceContext& context, std::vector<Source> sources,
    std::vector<std::shared_ptr<eventbus::Consumer>> also = {});

// Readiness: once every follower (null ones skipped) has caught up.
void ReadyWhenCaughtUp(
    ServiceContext& context,
    std::vector<std::shared_ptr<eventbus::Consumer>> followers);

// `setup` registers the service's gRPC services and shutdown hooks.
int ServiceMain(int argc, char** argv, const std::string& service,
                const std::function<absl::Status(ServiceContext&)>& setup);

}  // namespace wangge::server

#endif  // WANGGE_SERVICES_COMMON_SERVER_SERVICE_MAIN_H_
