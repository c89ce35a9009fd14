#ifndef WANGGE_SERVICES_DISPATCH_SERVER_DISPATCH_SERVER_H_
#define WANGGE_SERVICES_DISPATCH_SERVER_DISPATCH_SERVER_H_

// The dispatch service's gRPC surface. Every method enters through the chassis
// guard (role and scope checked before the body). The bodies arrive with
// issue #5; until then each answers UNIMPLEMENTED, after the guard.

#include "services/common/server/chassis.h"
#include "wangge/dispatch/v1/dispatch.grpc.pb.h"

namespace wangge::dispatch {

class DispatchServer final
    : public ::wangge::dispatch::v1::DispatchService::CallbackService {
 public:
  explicit DispatchServer(server::Chassis* chassis) : chassis_(chassis) {}

  grpc::ServerUnaryReactor* AcceptTask(
      grpc::CallbackServerContext* context,
      const ::wangge::dispatch::v1::TaskActionRequest* request,
      ::wangge::dispatch::v1::TaskCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.dispatch.v1.DispatchService.AcceptTask",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* RequestSendBack(
      grpc::CallbackServerContext* context,
      const ::wangge::dispatch::v1::TaskActionRequest* request,
      ::wangge::dispatch::v1::TaskCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.dispatch.v1.DispatchService.RequestSendBack",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* RequestExtension(
      grpc::CallbackServerContext* context,
      const ::wangge::dispatch::v1::TaskActionRequest* request,
      ::wangge::dispatch::v1::TaskCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.dispatch.v1.DispatchService.RequestExtension", request,
        response, NotYet);
  }

  grpc::ServerUnaryReactor* RequestShelving(
      grpc::CallbackServerContext* context,
      const ::wangge::dispatch::v1::TaskActionRequest* request,
      ::wangge::dispatch::v1::TaskCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.dispatch.v1.DispatchService.RequestShelving",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ReportHandled(
      grpc::CallbackServerContext* context,
      const ::wangge::dispatch::v1::TaskActionRequest* request,
      ::wangge::dispatch::v1::TaskCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.dispatch.v1.DispatchService.ReportHandled",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* DecideRequest(
      grpc::CallbackServerContext* context,
      const ::wangge::dispatch::v1::DecideRequestRequest* request,
      ::wangge::dispatch::v1::TaskCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.dispatch.v1.DispatchService.DecideRequest",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* RestoreTask(
      grpc::CallbackServerContext* context,
      const ::wangge::dispatch::v1::TaskActionRequest* request,
      ::wangge::dispatch::v1::TaskCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.dispatch.v1.DispatchService.RestoreTask",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* GetTask(
      grpc::CallbackServerContext* context,
      const ::wangge::dispatch::v1::GetTaskRequest* request,
      ::wangge::dispatch::v1::Task* response) override {
    return chassis_->Unary(context,
                           "wangge.dispatch.v1.DispatchService.GetTask",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ListWorkQueue(
      grpc::CallbackServerContext* context,
      const ::wangge::dispatch::v1::ListWorkQueueRequest* request,
      ::wangge::dispatch::v1::ListWorkQueueResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.dispatch.v1.DispatchService.ListWorkQueue",
                           request, response, NotYet);
  }

  grpc::ServerWriteReactor<::wangge::dispatch::v1::Task>* WatchWorkQueue(
      grpc::CallbackServerContext* context,
      const ::wangge::dispatch::v1::ListWorkQueueRequest* request) override {
    return chassis_->Stream<::wangge::dispatch::v1::Task>(
        context, "wangge.dispatch.v1.DispatchService.WatchWorkQueue", *request,
        [](const server::Caller&)
            -> grpc::ServerWriteReactor<::wangge::dispatch::v1::Task>* {
          return new server::RejectedStream<::wangge::dispatch::v1::Task>(
              grpc::Status(grpc::StatusCode::UNIMPLEMENTED, kNotYet));
        });
  }

 private:
  static constexpr char kNotYet[] = "not implemented yet (issue #5)";
  static absl::Status NotYet(const server::Caller&) {
    return absl::UnimplementedError(kNotYet);
  }

  server::Chassis* const chassis_;
};

}  // namespace wangge::dispatch

#endif  // WANGGE_SERVICES_DISPATCH_SERVER_DISPATCH_SERVER_H_
