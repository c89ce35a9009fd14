#ifndef WANGGE_SERVICES_INTAKE_SERVER_INTAKE_SERVER_H_
#define WANGGE_SERVICES_INTAKE_SERVER_INTAKE_SERVER_H_

// The intake service's gRPC surface. Every method enters through the chassis
// guard (role and scope checked before the body). The bodies arrive with
// issue #4; until then each answers UNIMPLEMENTED, after the guard.

#include "services/common/server/chassis.h"
#include "wangge/intake/v1/intake.grpc.pb.h"

namespace wangge::intake {

class IntakeServer final
    : public ::wangge::intake::v1::IntakeService::CallbackService {
 public:
  explicit IntakeServer(server::Chassis* chassis) : chassis_(chassis) {}

  grpc::ServerUnaryReactor* ReportCase(
      grpc::CallbackServerContext* context,
      const ::wangge::intake::v1::ReportCaseRequest* request,
      ::wangge::intake::v1::ReportCaseResponse* response) override {
    return chassis_->Unary(context, "wangge.intake.v1.IntakeService.ReportCase",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* GetReport(
      grpc::CallbackServerContext* context,
      const ::wangge::intake::v1::GetReportRequest* request,
      ::wangge::intake::v1::Report* response) override {
    return chassis_->Unary(context, "wangge.intake.v1.IntakeService.GetReport",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ListReports(
      grpc::CallbackServerContext* context,
      const ::wangge::intake::v1::ListReportsRequest* request,
      ::wangge::intake::v1::ListReportsResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.intake.v1.IntakeService.ListReports",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* RevealReporterContact(
      grpc::CallbackServerContext* context,
      const ::wangge::intake::v1::RevealReporterContactRequest* request,
      ::wangge::intake::v1::ReporterContact* response) override {
    return chassis_->Unary(
        context, "wangge.intake.v1.IntakeService.RevealReporterContact",
        request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ForgetReporter(
      grpc::CallbackServerContext* context,
      const ::wangge::intake::v1::ForgetReporterRequest* request,
      ::wangge::intake::v1::ForgetReporterResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.intake.v1.IntakeService.ForgetReporter",
                           request, response, NotYet);
  }

 private:
  static constexpr char kNotYet[] = "not implemented yet (issue #4)";
  static absl::Status NotYet(const server::Caller&) {
    return absl::UnimplementedError(kNotYet);
  }

  server::Chassis* const chassis_;
};

}  // namespace wangge::intake

#endif  // WANGGE_SERVICES_INTAKE_SERVER_INTAKE_SERVER_H_
