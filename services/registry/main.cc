// The registry service: flags, wiring, signals; nothing else.

#include "services/common/server/service_main.h"
#include "services/registry/server/registry_server.h"

int main(int argc, char** argv) {
  return wangge::server::ServiceMain(
      argc, argv, "registry", [](wangge::server::ServiceContext& context) {
        wangge::server::Chassis* chassis = context.chassis;
        auto server =
            std::make_shared<wangge::registry::RegistryServer>(chassis);
        absl::Status s =
            chassis->Register<::wangge::registry::v1::RegistryService>(
                server.get());
        chassis->AddShutdownHook([server] {});
        return s;
      });
}
