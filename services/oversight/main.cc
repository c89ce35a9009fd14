// The oversight service: flags, wiring, signals; nothing else.

#include "services/common/server/service_main.h"
#include "services/oversight/server/oversight_server.h"

int main(int argc, char** argv) {
  return wangge::server::ServiceMain(
      argc, argv, "oversight", [](wangge::server::ServiceContext& context) {
        wangge::server::Chassis* chassis = context.chassis;
        auto server =
            std::make_shared<wangge::oversight::OversightServer>(chassis);
        absl::Status s =
            chassis->Register<::wangge::oversight::v1::OversightService>(
                server.get());
        chassis->AddShutdownHook([server] {});
        return s;
      });
}
