#ifndef WANGGE_SERVICES_REGISTRY_SERVER_REGISTRY_SERVER_H_
#define WANGGE_SERVICES_REGISTRY_SERVER_REGISTRY_SERVER_H_

// The registry service's gRPC surface. Every method enters through the chassis
// guard (role and scope checked before the body). The bodies arrive with
// issue #4; until then each answers UNIMPLEMENTED, after the guard.

#include "services/common/server/chassis.h"
#include "wangge/registry/v1/registry.grpc.pb.h"

namespace wangge::registry {

class RegistryServer final
    : public ::wangge::registry::v1::RegistryService::CallbackService {
 public:
  explicit RegistryServer(server::Chassis* chassis) : chassis_(chassis) {}

  grpc::ServerUnaryReactor* GetArea(
      grpc::CallbackServerContext* context,
      const ::wangge::registry::v1::GetAreaRequest* request,
      ::wangge::registry::v1::Area* response) override {
    return chassis_->Unary(context,
                           "wangge.registry.v1.RegistryService.GetArea",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ListAreas(
      grpc::CallbackServerContext* context,
      const ::wangge::registry::v1::ListAreasRequest* request,
      ::wangge::registry::v1::ListAreasResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.registry.v1.RegistryService.ListAreas",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* LocatePoint(
      grpc::CallbackServerContext* context,
      const ::wangge::registry::v1::LocatePointRequest* request,
      ::wangge::registry::v1::Area* response) override {
    return chassis_->Unary(context,
                           "wangge.registry.v1.RegistryService.LocatePoint",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ResolveDepartment(
      grpc::CallbackServerContext* context,
      const ::wangge::registry::v1::ResolveDepartmentRequest* request,
      ::wangge::registry::v1::ResolveDepartmentResponse* response) override {
    return chassis_->Unary(
        context, "wangge.registry.v1.RegistryService.ResolveDepartment",
        request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ListStaff(
      grpc::CallbackServerContext* context,
      const ::wangge::registry::v1::ListStaffRequest* request,
      ::wangge::registry::v1::ListStaffResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.registry.v1.RegistryService.ListStaff",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ImportDeployment(
      grpc::CallbackServerContext* context,
      const ::wangge::registry::v1::ImportDeploymentRequest* request,
      ::wangge::registry::v1::ImportDeploymentResponse* response) override {
    return chassis_->Unary(
        context, "wangge.registry.v1.RegistryService.ImportDeployment", request,
        response, NotYet);
  }

 private:
  static constexpr char kNotYet[] = "not implemented yet (issue #4)";
  static absl::Status NotYet(const server::Caller&) {
    return absl::UnimplementedError(kNotYet);
  }

  server::Chassis* const chassis_;
};

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_SERVER_REGISTRY_SERVER_H_
