// The intake service: flags, wiring, signals; nothing else.

#include "services/common/server/service_main.h"
#include "services/intake/server/intake_server.h"

int main(int argc, char** argv) {
  return wangge::server::ServiceMain(
      argc, argv, "intake", [](wangge::server::ServiceContext& context) {
        wangge::server::Chassis* chassis = context.chassis;
        auto server = std::make_shared<wangge::intake::IntakeServer>(chassis);
        absl::Status s = chassis->Register<::wangge::intake::v1::IntakeService>(
            server.get());
        chassis->AddShutdownHook([server] {});
        return s;
      });
}
