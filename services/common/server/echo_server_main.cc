// A chassis-based server process for the shutdown test: prints its port on
// stdout, serves EchoService, drains on SIGTERM and exits 0.

#include <cstdio>

#include "services/common/config/config.h"
#include "services/common/log/log.h"
#include "services/common/server/chassis.h"
#include "services/common/server/echo_service_for_test.h"

int main(int argc, char** argv) {
  wangge::server::Chassis::InstallSignalHandlers();
  wangge::config::ParseFlags(argc, argv);
  auto config = wangge::config::LoadServiceConfig("echo");
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 2;
  }
  wangge::server::Chassis chassis(*config, wangge::Clock::Real());
  wangge::server::EchoServiceForTest echo(&chassis);
  absl::Status s = chassis.Init();
  if (s.ok()) {
    s = chassis.Register<wangge::testing::v1::EchoService>(&echo);
  }
  if (s.ok()) s = chassis.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  chassis.AddShutdownHook([] {
    std::fprintf(stdout, "hook ran\n");
    std::fflush(stdout);
  });
  chassis.SetReady(true);
  std::fprintf(stdout, "port %d\n", chassis.port());
  std::fflush(stdout);
  chassis.WaitForShutdownSignal();
  return 0;
}
