#ifndef WANGGE_SERVICES_OVERSIGHT_SERVER_OVERSIGHT_SERVER_H_
#define WANGGE_SERVICES_OVERSIGHT_SERVER_OVERSIGHT_SERVER_H_

// The oversight service's gRPC surface. Every method enters through the chassis
// guard (role and scope checked before the body). The bodies arrive with
// issue #6; until then each answers UNIMPLEMENTED, after the guard.

#include "services/common/server/chassis.h"
#include "wangge/oversight/v1/oversight.grpc.pb.h"

namespace wangge::oversight {

class OversightServer final
    : public ::wangge::oversight::v1::OversightService::CallbackService {
 public:
  explicit OversightServer(server::Chassis* chassis) : chassis_(chassis) {}

  grpc::ServerUnaryReactor* RegisterPartyOrganization(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::RegisterPartyOrganizationRequest* request,
      ::wangge::oversight::v1::OversightCommandResponse* response) override {
    return chassis_->Unary(
        context,
        "wangge.oversight.v1.OversightService.RegisterPartyOrganization",
        request, response, NotYet);
  }

  grpc::ServerUnaryReactor* AssignOverseer(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::AssignOverseerRequest* request,
      ::wangge::oversight::v1::OversightCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.oversight.v1.OversightService.AssignOverseer", request,
        response, NotYet);
  }

  grpc::ServerUnaryReactor* GetCoverage(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::GetCoverageRequest* request,
      ::wangge::oversight::v1::Coverage* response) override {
    return chassis_->Unary(context,
                           "wangge.oversight.v1.OversightService.GetCoverage",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ListNotices(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::ListNoticesRequest* request,
      ::wangge::oversight::v1::ListNoticesResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.oversight.v1.OversightService.ListNotices",
                           request, response, NotYet);
  }

  grpc::ServerWriteReactor<::wangge::oversight::v1::Notice>* WatchNotices(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::ListNoticesRequest* request) override {
    return chassis_->Stream<::wangge::oversight::v1::Notice>(
        context, "wangge.oversight.v1.OversightService.WatchNotices", *request,
        [](const server::Caller&)
            -> grpc::ServerWriteReactor<::wangge::oversight::v1::Notice>* {
          return new server::RejectedStream<::wangge::oversight::v1::Notice>(
              grpc::Status(grpc::StatusCode::UNIMPLEMENTED, kNotYet));
        });
  }

  grpc::ServerUnaryReactor* AcknowledgeNotice(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::NoticeActionRequest* request,
      ::wangge::oversight::v1::OversightCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.oversight.v1.OversightService.AcknowledgeNotice",
        request, response, NotYet);
  }

  grpc::ServerUnaryReactor* RecordOversightAction(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::NoticeActionRequest* request,
      ::wangge::oversight::v1::OversightCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.oversight.v1.OversightService.RecordOversightAction",
        request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ResolveNotice(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::NoticeActionRequest* request,
      ::wangge::oversight::v1::OversightCommandResponse* response) override {
    return chassis_->Unary(context,
                           "wangge.oversight.v1.OversightService.ResolveNotice",
                           request, response, NotYet);
  }

  grpc::ServerUnaryReactor* RecordSmallWish(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::RecordSmallWishRequest* request,
      ::wangge::oversight::v1::OversightCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.oversight.v1.OversightService.RecordSmallWish",
        request, response, NotYet);
  }

  grpc::ServerUnaryReactor* ClaimSmallWish(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::SmallWishActionRequest* request,
      ::wangge::oversight::v1::OversightCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.oversight.v1.OversightService.ClaimSmallWish", request,
        response, NotYet);
  }

  grpc::ServerUnaryReactor* FulfilSmallWish(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::SmallWishActionRequest* request,
      ::wangge::oversight::v1::OversightCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.oversight.v1.OversightService.FulfilSmallWish",
        request, response, NotYet);
  }

  grpc::ServerUnaryReactor* GetParticipation(
      grpc::CallbackServerContext* context,
      const ::wangge::oversight::v1::GetParticipationRequest* request,
      ::wangge::oversight::v1::Participation* response) override {
    return chassis_->Unary(
        context, "wangge.oversight.v1.OversightService.GetParticipation",
        request, response, NotYet);
  }

 private:
  static constexpr char kNotYet[] = "not implemented yet (issue #6)";
  static absl::Status NotYet(const server::Caller&) {
    return absl::UnimplementedError(kNotYet);
  }

  server::Chassis* const chassis_;
};

}  // namespace wangge::oversight

#endif  // WANGGE_SERVICES_OVERSIGHT_SERVER_OVERSIGHT_SERVER_H_
