// The dispatch service: flags, wiring, signals; nothing else.

#include "services/common/server/service_main.h"
#include "services/dispatch/server/dispatch_server.h"

int main(int argc, char** argv) {
  return wangge::server::ServiceMain(
      argc, argv, "dispatch", [](wangge::server::ServiceContext& context) {
        wangge::server::Chassis* chassis = context.chassis;
        auto server =
            std::make_shared<wangge::dispatch::DispatchServer>(chassis);
        absl::Status s =
            chassis->Register<::wangge::dispatch::v1::DispatchService>(
                server.get());
        chassis->AddShutdownHook([server] {});
        return s;
      });
}
