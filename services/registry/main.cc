// The registry service: flags, wiring, signals; nothing else.

#include "services/common/server/service_main.h"
#include "services/registry/app/registry_app.h"
#include "services/registry/server/registry_server.h"

int main(int argc, char** argv) {
  return wangge::server::ServiceMain(
      argc, argv, "registry", [](wangge::server::ServiceContext& context) {
        auto app =
            std::make_shared<wangge::registry::RegistryApp>(context.store);
        absl::Status s = app->Load();
        if (!s.ok()) return s;
        auto server = std::make_shared<wangge::registry::RegistryServer>(
            context.chassis, app.get(), context.store);
        s = context.chassis->Register<wangge::registry::v1::RegistryService>(
            server.get());
        context.projections->push_back(wangge::registry::kAreasProjection);
        // Keeps both alive until the server has drained.
        context.chassis->AddShutdownHook([app, server] {});
        return s;
      });
}
