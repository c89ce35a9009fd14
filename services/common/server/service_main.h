#ifndef WANGGE_SERVICES_COMMON_SERVER_SERVICE_MAIN_H_
#define WANGGE_SERVICES_COMMON_SERVER_SERVICE_MAIN_H_

// The body of every service's main(): flags (with environment overrides),
// validated configuration, the chassis, the service's own wiring, serve,
// then block until SIGTERM/SIGINT and shut down in order. Exit codes: 0 on a
// clean stop, 1 when start-up fails, 2 on bad configuration.

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "services/common/server/chassis.h"

namespace wangge::server {

// `setup` registers the service's gRPC services and shutdown hooks.
int ServiceMain(int argc, char** argv, const std::string& service,
                const std::function<absl::Status(Chassis*)>& setup);

}  // namespace wangge::server

#endif  // WANGGE_SERVICES_COMMON_SERVER_SERVICE_MAIN_H_
