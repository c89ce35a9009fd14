#ifndef WANGGE_SERVICES_SUPERVISION_SERVER_SUPERVISION_SERVER_H_
#define WANGGE_SERVICES_SUPERVISION_SERVER_SUPERVISION_SERVER_H_

// The supervision service's gRPC surface. Every method enters through the
// chassis guard (role and scope checked before the body). The bodies arrive
// with issue #5; until then each answers UNIMPLEMENTED, after the guard.

#include "services/common/server/chassis.h"
#include "wangge/supervision/v1/supervision.grpc.pb.h"

namespace wangge::supervision {

class SupervisionServer final
    : public ::wangge::supervision::v1::SupervisionService::CallbackService {
 public:
  explicit SupervisionServer(server::Chassis* chassis) : chassis_(chassis) {}

  grpc::ServerUnaryReactor* VerifyCase(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::VerifyCaseRequest* request,
      ::wangge::supervision::v1::CaseCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.supervision.v1.SupervisionService.VerifyCase", request,
        response, NotYet);
  }

  grpc::ServerUnaryReactor* FileCase(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::FileCaseRequest* request,
      ::wangge::supervision::v1::CaseCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.supervision.v1.SupervisionService.FileCase",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* RejectCase(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::RejectCaseRequest* request,
      ::wangge::supervision::v1::CaseCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.supervision.v1.SupervisionService.RejectCase", request,
        response, NotYet);
  }

  grpc::ServerUnaryReactor* VoidCase(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::VoidCaseRequest* request,
      ::wangge::supervision::v1::CaseCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.supervision.v1.SupervisionService.VoidCase",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* CheckCase(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::CheckCaseRequest* request,
      ::wangge::supervision::v1::CaseCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.supervision.v1.SupervisionService.CheckCase",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* CloseCase(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::CloseCaseRequest* request,
      ::wangge::supervision::v1::CaseCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.supervision.v1.SupervisionService.CloseCase",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* RecordFollowUp(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::RecordFollowUpRequest* request,
      ::wangge::supervision::v1::CaseCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.supervision.v1.SupervisionService.RecordFollowUp",
        request, response, NotYet);
  }

  grpc::ServerUnaryReactor* GetCase(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::GetCaseRequest* request,
      ::wangge::supervision::v1::Case* response) override {
    return chassis_->Unary(context,
                           "wangge.supervision.v1.SupervisionService.GetCase",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ListCases(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::ListCasesRequest* request,
      ::wangge::supervision::v1::ListCasesResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.supervision.v1.SupervisionService.ListCases",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* GetCaseTimeline(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::GetCaseTimelineRequest* request,
      ::wangge::supervision::v1::CaseTimeline* response) override {
    return chassis_->Unary(
        context, "wangge.supervision.v1.SupervisionService.GetCaseTimeline",
        request, response, NotYet);
  }

  grpc::ServerWriteReactor<::wangge::supervision::v1::Case>* WatchCases(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::WatchCasesRequest* request) override {
    return chassis_->Stream<::wangge::supervision::v1::Case>(
        context, "wangge.supervision.v1.SupervisionService.WatchCases",
        *request,
        [](const server::Caller&)
            -> grpc::ServerWriteReactor<::wangge::supervision::v1::Case>* {
          return new server::RejectedStream<::wangge::supervision::v1::Case>(
              grpc::Status(grpc::StatusCode::UNIMPLEMENTED, kNotYet));
        });
  }

  grpc::ServerUnaryReactor* GetEvaluation(
      grpc::CallbackServerContext* context,
      const ::wangge::supervision::v1::GetEvaluationRequest* request,
      ::wangge::supervision::v1::Evaluation* response) override {
    return chassis_->Unary(
        context, "wangge.supervision.v1.SupervisionService.GetEvaluation",
        request, response, NotYet);
  }

 private:
  static constexpr char kNotYet[] = "not implemented yet (issue #5)";
  static absl::Status NotYet(const server::Caller&) {
    return absl::UnimplementedError(kNotYet);
  }

  server::Chassis* const chassis_;
};

}  // namespace wangge::supervision

#endif  // WANGGE_SERVICES_SUPERVISION_SERVER_SUPERVISION_SERVER_H_
