#ifndef WANGGE_SERVICES_INTAKE_SERVER_INTAKE_SERVER_H_
#define WANGGE_SERVICES_INTAKE_SERVER_INTAKE_SERVER_H_

// The intake service's gRPC surface. Every method enters through the chassis
// guard (role and scope checked before the body).

#include "absl/time/clock.h"
#include "services/common/server/chassis.h"
#include "services/common/status/status_macros.h"
#include "services/intake/app/intake_app.h"
#include "wangge/intake/v1/intake.grpc.pb.h"

namespace wangge::intake {

class IntakeServer final
    : public ::wangge::intake::v1::IntakeService::CallbackService {
 public:
  // `app` may be null (permission tests): bodies then answer UNAVAILABLE.
  explicit IntakeServer(server::Chassis* chassis, IntakeApp* app = nullptr)
      : chassis_(chassis), app_(app) {
    // A reveal logs its access, then answers: held for Kafka and retried,
    // it would decrypt and log again (and spend the agent's rate).
    chassis_->ExemptFromAcknowledgementGate(
        "wangge.intake.v1.IntakeService.RevealReporterContact");
  }

  grpc::ServerUnaryReactor* ReportCase(
      grpc::CallbackServerContext* context,
      const ::wangge::intake::v1::ReportCaseRequest* request,
      ::wangge::intake::v1::ReportCaseResponse* response) override {
    return chassis_->Unary(
        context, "wangge.intake.v1.IntakeService.ReportCase", request, response,
        [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          auto result = app_->ReportCase(caller.actor, *request);
          if (!result.ok()) return result.status();
          *response = std::move(*result);
          return absl::OkStatus();
        });
  }

  grpc::ServerUnaryReactor* GetReport(
      grpc::CallbackServerContext* context,
      const ::wangge::intake::v1::GetReportRequest* request,
      ::wangge::intake::v1::Report* response) override {
    return chassis_->Unary(
        context, "wangge.intake.v1.IntakeService.GetReport", request, response,
        [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          RETURN_IF_ERROR(app_->WaitApplied(
              request->min_positions(), server::MinPositionsDeadline(context)));
          auto report = app_->GetReport(request->case_id());
          if (!report.ok()) return report.status();
          // Outside the caller's area scope is as good as absent; so is
          // another channel's report, for a channel (citizens' reports to
          // the 12345 hotline are not the public app's to read).
          if (!caller.InScope(report->area_code()) ||
              !OwnReport(caller, *report)) {
            return absl::NotFoundError("no such report in your scope");
          }
          *response = std::move(*report);
          return absl::OkStatus();
        });
  }

  grpc::ServerUnaryReactor* ListReports(
      grpc::CallbackServerContext* context,
      const ::wangge::intake::v1::ListReportsRequest* request,
      ::wangge::intake::v1::ListReportsResponse* response) override {
    // The guard checked area_code against the caller's scope.
    return chassis_->Unary(
        context, "wangge.intake.v1.IntakeService.ListReports", request,
        response, [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          RETURN_IF_ERROR(app_->WaitApplied(
              request->min_positions(), server::MinPositionsDeadline(context)));
          auto page =
              app_->ListReports(request->area_code(), request->page_size(),
                                request->page_token(), OnlyReporter(caller));
          if (!page.ok()) return page.status();
          *response = std::move(*page);
          return absl::OkStatus();
        });
  }

  grpc::ServerUnaryReactor* RevealReporterContact(
      grpc::CallbackServerContext* context,
      const ::wangge::intake::v1::RevealReporterContactRequest* request,
      ::wangge::intake::v1::ReporterContact* response) override {
    return chassis_->Unary(
        context, "wangge.intake.v1.IntakeService.RevealReporterContact",
        request, response, [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          RETURN_IF_ERROR(ReportInScope(caller, request->case_id()));
          auto contact = app_->RevealReporterContact(
              caller.actor, request->case_id(), request->purpose());
          if (!contact.ok()) return contact.status();
          *response = std::move(*contact);
          return absl::OkStatus();
        });
  }

  grpc::ServerUnaryReactor* ForgetReporter(
      grpc::CallbackServerContext* context,
      const ::wangge::intake::v1::ForgetReporterRequest* request,
      ::wangge::intake::v1::ForgetReporterResponse* response) override {
    return chassis_->Unary(
        context, "wangge.intake.v1.IntakeService.ForgetReporter", request,
        response, [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          RETURN_IF_ERROR(ReportInScope(caller, request->case_id()));
          auto positions = app_->ForgetReporter(
              caller.actor, request->case_id(), request->reason());
          if (!positions.ok()) return positions.status();
          for (const auto& p : *positions) *response->add_positions() = p;
          return absl::OkStatus();
        });
  }

 private:
  // A channel reads only the reports it sent: its subject; "" for others.
  static std::string OnlyReporter(const server::Caller& caller) {
    return caller.actor.role() == common::v1::ROLE_CHANNEL
               ? caller.actor.subject()
               : std::string();
  }
  static bool OwnReport(const server::Caller& caller, const v1::Report& r) {
    const std::string only = OnlyReporter(caller);
    return only.empty() || r.reporter_subject() == only;
  }

  // A reporter's contact is read or forgotten only within the caller's
  // areas; an unknown case is the command's NOT_FOUND.
  absl::Status ReportInScope(const server::Caller& caller,
                             const std::string& case_id) const {
    auto report = app_->GetReport(case_id);
    return caller.RequireScopeOf(
        report.ok() ? absl::StatusOr<std::string>(report->area_code())
                    : report.status());
  }

  server::Chassis* const chassis_;
  IntakeApp* const app_;
};

}  // namespace wangge::intake

#endif  // WANGGE_SERVICES_INTAKE_SERVER_INTAKE_SERVER_H_
