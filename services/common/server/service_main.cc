#include "services/common/server/service_main.h"

#include <cstdio>

#include "services/common/config/config.h"
#include "services/common/log/log.h"

namespace wangge::server {

int ServiceMain(int argc, char** argv, const std::string& service,
                const std::function<absl::Status(Chassis*)>& setup) {
  Chassis::InstallSignalHandlers();
  config::ParseFlags(argc, argv);
  log::SetService(service);
  auto config = config::LoadServiceConfig(service);
  if (!config.ok()) {
    log::Error("bad configuration",
               {{"error", std::string(config.status().message())}});
    return 2;
  }
  Chassis chassis(*config, Clock::Real());
  absl::Status s = chassis.Init();
  if (s.ok()) s = setup(&chassis);
  if (s.ok()) s = chassis.Start();
  if (!s.ok()) {
    log::Error("start-up failed", {{"error", s.ToString()}});
    return 1;
  }
  chassis.SetReady(true);
  // One machine-readable line for scripts and end-to-end tests.
  std::printf("listening %s\n", chassis.address().c_str());
  std::fflush(stdout);
  chassis.WaitForShutdownSignal();
  return 0;
}

}  // namespace wangge::server
