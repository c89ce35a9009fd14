// The supervision service: flags, wiring, signals; nothing else.

#include "services/common/server/service_main.h"
#include "services/supervision/server/supervision_server.h"

int main(int argc, char** argv) {
  return wangge::server::ServiceMain(
      argc, argv, "supervision", [](wangge::server::ServiceContext& context) {
        wangge::server::Chassis* chassis = context.chassis;
        auto server =
            std::make_shared<wangge::supervision::SupervisionServer>(chassis);
        absl::Status s =
            chassis->Register<::wangge::supervision::v1::SupervisionService>(
                server.get());
        chassis->AddShutdownHook([server] {});
        return s;
      });
}
