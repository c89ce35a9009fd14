#ifndef WANGGE_SERVICES_REGISTRY_SERVER_REGISTRY_SERVER_H_
#define WANGGE_SERVICES_REGISTRY_SERVER_REGISTRY_SERVER_H_

// The registry's gRPC surface, a thin shell over RegistryApp. Every method
// enters through the chassis guard: import, areas (get, list, locate as of a
// time), the responsible department and staff of an area.

#include "services/common/server/chassis.h"
#include "services/registry/app/registry_app.h"
#include "wangge/registry/v1/events.pb.h"
#include "wangge/registry/v1/registry.grpc.pb.h"

namespace wangge::registry {

class RegistryServer final : public v1::RegistryService::CallbackService {
 public:
  // `app` may be null (permission tests): every body then answers
  // UNAVAILABLE after the guard.
  RegistryServer(server::Chassis* chassis, RegistryApp* app = nullptr,
                 eventstore::EventStore* store = nullptr)
      : chassis_(chassis), app_(app), store_(store) {}

  grpc::ServerUnaryReactor* GetArea(grpc::CallbackServerContext* context,
                                    const v1::GetAreaRequest* request,
                                    v1::Area* response) override;
  grpc::ServerUnaryReactor* ListAreas(grpc::CallbackServerContext* context,
                                      const v1::ListAreasRequest* request,
                                      v1::ListAreasResponse* response) override;
  grpc::ServerUnaryReactor* LocatePoint(grpc::CallbackServerContext* context,
                                        const v1::LocatePointRequest* request,
                                        v1::Area* response) override;
  grpc::ServerUnaryReactor* ResolveDepartment(
      grpc::CallbackServerContext* context,
      const v1::ResolveDepartmentRequest* request,
      v1::ResolveDepartmentResponse* response) override;
  grpc::ServerUnaryReactor* ListStaff(grpc::CallbackServerContext* context,
                                      const v1::ListStaffRequest* request,
                                      v1::ListStaffResponse* response) override;
  grpc::ServerUnaryReactor* ExportDeployment(
      grpc::CallbackServerContext* context,
      const v1::ExportDeploymentRequest* request,
      v1::ExportDeploymentResponse* response) override;
  grpc::ServerWriteReactor<v1::RegistryChange>* WatchChanges(
      grpc::CallbackServerContext* context,
      const v1::WatchChangesRequest* request) override;
  grpc::ServerUnaryReactor* ImportDeployment(
      grpc::CallbackServerContext* context,
      const v1::ImportDeploymentRequest* request,
      v1::ImportDeploymentResponse* response) override;

 private:
  absl::Time AsOf(const google::protobuf::Timestamp& ts) const;

  server::Chassis* const chassis_;
  RegistryApp* const app_;
  eventstore::EventStore* const store_;  // for WatchChanges
};

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_SERVER_REGISTRY_SERVER_H_
