#ifndef WANGGE_SERVICES_OVERSIGHT_SERVER_OVERSIGHT_SERVER_H_
#define WANGGE_SERVICES_OVERSIGHT_SERVER_OVERSIGHT_SERVER_H_

// The oversight service's gRPC surface. Every method enters through the
// chassis guard (role and scope checked before the body). A party member
// sees and acts on their own notices only.

#include <deque>
#include <string>

#include "absl/synchronization/mutex.h"
#include "services/common/server/chassis.h"
#include "services/common/server/threaded_stream.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"
#include "services/oversight/app/oversight_app.h"
#include "wangge/oversight/v1/oversight.grpc.pb.h"

namespace wangge::oversight {

class OversightServer final
    : public ::wangge::oversight::v1::OversightService::CallbackService {
 public:
  // `app` may be null (permission tests): bodies then answer UNAVAILABLE.
  explicit OversightServer(server::Chassis* chassis,
                           OversightApp* app = nullptr)
      : chassis_(chassis), app_(app) {}

#define WANGGE_OVERSIGHT_UNARY(Method, Request, Response, call)             \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* context,    \
                                   const v1::Request* request,              \
                                   v1::Response* response) override {       \
    return chassis_->Unary(                                                 \
        context, "wangge.oversight.v1.OversightService." #Method, request,  \
        response, [=](const server::Caller& caller) -> absl::Status {       \
          if (app_ == nullptr) return absl::UnavailableError("not loaded"); \
          auto result = call;                                               \
          if (!result.ok()) return result.status();                         \
          *response = std::move(*result);                                   \
          return absl::OkStatus();                                          \
        });                                                                 \
  }

  WANGGE_OVERSIGHT_UNARY(RegisterPartyOrganization,
                         RegisterPartyOrganizationRequest,
                         OversightCommandResponse,
                         app_->RegisterOrganization(caller.actor, *request))
  WANGGE_OVERSIGHT_UNARY(AssignOverseer, AssignOverseerRequest,
                         OversightCommandResponse,
                         app_->AssignOverseer(caller.actor, *request))
  WANGGE_OVERSIGHT_UNARY(GetCoverage, GetCoverageRequest, Coverage,
                         app_->GetCoverage(*request))
  WANGGE_OVERSIGHT_UNARY(ListNotices, ListNoticesRequest, ListNoticesResponse,
                         ([&]() -> absl::StatusOr<v1::ListNoticesResponse> {
                           RETURN_IF_ERROR(app_->WaitApplied(
                               request->min_positions(),
                               server::MinPositionsDeadline(context)));
                           return app_->ListNotices(
                               OwnNotices(caller, *request), caller.scopes);
                         }()))
  WANGGE_OVERSIGHT_UNARY(AcknowledgeNotice, NoticeActionRequest,
                         OversightCommandResponse,
                         app_->Acknowledge(caller.actor, *request))
  WANGGE_OVERSIGHT_UNARY(RecordOversightAction, NoticeActionRequest,
                         OversightCommandResponse,
                         app_->RecordAction(caller.actor, *request))
  WANGGE_OVERSIGHT_UNARY(ResolveNotice, NoticeActionRequest,
                         OversightCommandResponse,
                         app_->Resolve(caller.actor, *request))
  WANGGE_OVERSIGHT_UNARY(RecordSmallWish, RecordSmallWishRequest,
                         OversightCommandResponse,
                         app_->RecordWish(caller.actor, *request))
  WANGGE_OVERSIGHT_UNARY(ClaimSmallWish, SmallWishActionRequest,
                         OversightCommandResponse,
                         InWishScope(caller, request->wish_id(), [&] {
                           return app_->ClaimWish(caller.actor, *request);
                         }))
  WANGGE_OVERSIGHT_UNARY(FulfilSmallWish, SmallWishActionRequest,
                         OversightCommandResponse,
                         InWishScope(caller, request->wish_id(), [&] {
                           return app_->FulfilWish(caller.actor, *request);
                         }))
  WANGGE_OVERSIGHT_UNARY(GetParticipation, GetParticipationRequest,
                         Participation, app_->GetParticipation(*request))
#undef WANGGE_OVERSIGHT_UNARY

  grpc::ServerWriteReactor<v1::Notice>* WatchNotices(
      grpc::CallbackServerContext* context,
      const v1::ListNoticesRequest* request) override {
    return chassis_->Stream<v1::Notice>(
        context, "wangge.oversight.v1.OversightService.WatchNotices", *request,
        [=](const server::Caller& caller)
            -> grpc::ServerWriteReactor<v1::Notice>* {
          if (app_ == nullptr) {
            return new server::RejectedStream<v1::Notice>(
                grpc::Status(grpc::StatusCode::UNAVAILABLE, "not loaded"));
          }
          auto* watch = new WatchReactor(app_, OwnNotices(caller, *request),
                                         caller.scopes);
          watch->Begin(caller.actor.subject());
          return watch;
        });
  }

 private:
  // A wish outside the caller's areas is not theirs to claim or fulfil; an
  // unknown one is the command's NOT_FOUND.
  absl::StatusOr<v1::OversightCommandResponse> InWishScope(
      const server::Caller& caller, const std::string& wish_id,
      const std::function<absl::StatusOr<v1::OversightCommandResponse>()>& then)
      const {
    absl::Status scope = caller.RequireScopeOf(app_->WishArea(wish_id));
    if (!scope.ok()) return scope;
    return then();
  }

  // A member's current notices, then every change to them.
  class WatchReactor final : public server::QueuedStream<v1::Notice> {
   public:
    WatchReactor(OversightApp* app, v1::ListNoticesRequest request,
                 std::vector<std::string> scopes)
        : app_(app), request_(std::move(request)), scopes_(std::move(scopes)) {
      listener_ = app_->Subscribe([this](const v1::Notice& n) { Enqueue(n); });
    }
    ~WatchReactor() override { app_->Unsubscribe(listener_); }

   private:
    grpc::Status Produce() override {
      v1::ListNoticesRequest page = request_;
      page.set_page_size(1000);
      do {  // every current notice, a page at a time
        auto current = app_->ListNotices(page, scopes_);
        if (!current.ok()) return status::ToGrpcStatus(current.status());
        for (const auto& n : current->notices())
          if (!Send(n)) return grpc::Status::OK;
        page.set_page_token(current->next_page_token());
      } while (!page.page_token().empty());
      // Then the same notices as they change.
      return Drain([this](const v1::Notice& n) {
        return NoticeWanted(request_, scopes_, n);
      });
    }

    OversightApp* const app_;
    const v1::ListNoticesRequest request_;
    const std::vector<std::string> scopes_;
    int listener_ = 0;
  };

  // Party members list and watch their own notices.
  static v1::ListNoticesRequest OwnNotices(const server::Caller& caller,
                                           v1::ListNoticesRequest r) {
    if (caller.actor.role() == common::v1::ROLE_PARTY_MEMBER) {
      r.set_overseer_id(caller.actor.subject());
    }
    return r;
  }

  server::Chassis* const chassis_;
  OversightApp* const app_;
};

}  // namespace wangge::oversight

#endif  // WANGGE_SERVICES_OVERSIGHT_SERVER_OVERSIGHT_SERVER_H_
