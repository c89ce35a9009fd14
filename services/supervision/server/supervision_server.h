#ifndef WANGGE_SERVICES_SUPERVISION_SERVER_SUPERVISION_SERVER_H_
#define WANGGE_SERVICES_SUPERVISION_SERVER_SUPERVISION_SERVER_H_

// The supervision service's gRPC surface. Every method enters through the
// chassis guard (role and scope checked before the body); state and
// conflict-of-interest rules are the domain's.

#include <deque>
#include <map>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "services/common/server/chassis.h"
#include "services/common/server/threaded_stream.h"
#include "services/common/status/errors.h"
#include "services/supervision/app/supervision_app.h"
#include "wangge/supervision/v1/supervision.grpc.pb.h"

namespace wangge::supervision {

using server::kMinPositionsWait;

class SupervisionServer final
    : public ::wangge::supervision::v1::SupervisionService::CallbackService {
 public:
  // `app` may be null (permission tests): bodies then answer UNAVAILABLE.
  explicit SupervisionServer(server::Chassis* chassis,
                             SupervisionApp* app = nullptr,
                             eventstore::EventStore* store = nullptr)
      : chassis_(chassis), app_(app), store_(store) {}

  grpc::ServerUnaryReactor* VerifyCase(
      grpc::CallbackServerContext* context, const v1::VerifyCaseRequest* r,
      v1::CaseCommandResponse* response) override {
    return Command(
        context, "VerifyCase", r, response,
        [=](const common::v1::Actor& a) { return app_->Verify(a, *r); });
  }
  grpc::ServerUnaryReactor* AssignVerification(
      grpc::CallbackServerContext* context,
      const v1::AssignVerificationRequest* r,
      v1::CaseCommandResponse* response) override {
    return Command(context, "AssignVerification", r, response,
                   [=](const common::v1::Actor& a) {
                     return app_->AssignVerification(a, *r);
                   });
  }
  grpc::ServerUnaryReactor* FileCase(
      grpc::CallbackServerContext* context, const v1::FileCaseRequest* r,
      v1::CaseCommandResponse* response) override {
    return Command(
        context, "FileCase", r, response,
        [=](const common::v1::Actor& a) { return app_->File(a, *r); });
  }
  grpc::ServerUnaryReactor* RejectCase(
      grpc::CallbackServerContext* context, const v1::RejectCaseRequest* r,
      v1::CaseCommandResponse* response) override {
    return Command(
        context, "RejectCase", r, response,
        [=](const common::v1::Actor& a) { return app_->Reject(a, *r); });
  }
  grpc::ServerUnaryReactor* VoidCase(
      grpc::CallbackServerContext* context, const v1::VoidCaseRequest* r,
      v1::CaseCommandResponse* response) override {
    return Command(
        context, "VoidCase", r, response,
        [=](const common::v1::Actor& a) { return app_->Void(a, *r); });
  }
  grpc::ServerUnaryReactor* CheckCase(
      grpc::CallbackServerContext* context, const v1::CheckCaseRequest* r,
      v1::CaseCommandResponse* response) override {
    return Command(
        context, "CheckCase", r, response,
        [=](const common::v1::Actor& a) { return app_->Check(a, *r); });
  }
  grpc::ServerUnaryReactor* CloseCase(
      grpc::CallbackServerContext* context, const v1::CloseCaseRequest* r,
      v1::CaseCommandResponse* response) override {
    return Command(
        context, "CloseCase", r, response,
        [=](const common::v1::Actor& a) { return app_->Close(a, *r); });
  }
  grpc::ServerUnaryReactor* RecordFollowUp(
      grpc::CallbackServerContext* context, const v1::RecordFollowUpRequest* r,
      v1::CaseCommandResponse* response) override {
    return Command(
        context, "RecordFollowUp", r, response,
        [=](const common::v1::Actor& a) { return app_->FollowUp(a, *r); });
  }

  grpc::ServerUnaryReactor* GetCase(grpc::CallbackServerContext* context,
                                    const v1::GetCaseRequest* request,
                                    v1::Case* response) override {
    return Query(context, "GetCase", request, response,
                 request->min_positions(),
                 [=](const server::Caller& caller) -> absl::Status {
                   auto c = app_->GetCase(request->case_id());
                   if (!c.ok()) return c.status();
                   // Outside the caller's area scope is as good as absent.
                   if (!caller.InScope(c->area_code())) {
                     return absl::NotFoundError("no such case in your scope");
                   }
                   *response = std::move(*c);
                   return absl::OkStatus();
                 });
  }

  grpc::ServerUnaryReactor* ListCases(
      grpc::CallbackServerContext* context, const v1::ListCasesRequest* request,
      v1::ListCasesResponse* response) override {
    // The guard checked area_code against the caller's scope.
    return Query(context, "ListCases", request, response,
                 request->min_positions(),
                 [=](const server::Caller&) -> absl::Status {
                   auto page = app_->ListCases(*request);
                   if (!page.ok()) return page.status();
                   *response = std::move(*page);
                   return absl::OkStatus();
                 });
  }

  grpc::ServerUnaryReactor* GetCaseTimeline(
      grpc::CallbackServerContext* context,
      const v1::GetCaseTimelineRequest* request,
      v1::CaseTimeline* response) override {
    return Query(context, "GetCaseTimeline", request, response,
                 request->min_positions(),
                 [=](const server::Caller& caller) -> absl::Status {
                   auto c = app_->GetCase(request->case_id());
                   if (!c.ok()) return c.status();
                   if (!caller.InScope(c->area_code())) {
                     return absl::NotFoundError("no such case in your scope");
                   }
                   auto timeline = app_->GetCaseTimeline(request->case_id());
                   if (!timeline.ok()) return timeline.status();
                   *response = std::move(*timeline);
                   return absl::OkStatus();
                 });
  }

  grpc::ServerWriteReactor<v1::Case>* WatchCases(
      grpc::CallbackServerContext* context,
      const v1::WatchCasesRequest* request) override {
    return chassis_->Stream<v1::Case>(
        context, "wangge.supervision.v1.SupervisionService.WatchCases",
        *request,
        [=](const server::Caller& caller)
            -> grpc::ServerWriteReactor<v1::Case>* {
          if (app_ == nullptr) {
            return new server::RejectedStream<v1::Case>(
                grpc::Status(grpc::StatusCode::UNAVAILABLE, "not loaded"));
          }
          auto* watch = new WatchReactor(app_, store_, *request);
          watch->Begin(caller.actor.subject());
          return watch;
        });
  }

  grpc::ServerUnaryReactor* GetEvaluation(
      grpc::CallbackServerContext* context,
      const v1::GetEvaluationRequest* request,
      v1::Evaluation* response) override {
    return Query(context, "GetEvaluation", request, response, {},
                 [=](const server::Caller&) -> absl::Status {
                   auto evaluation = app_->GetEvaluation(*request);
                   if (!evaluation.ok()) return evaluation.status();
                   *response = std::move(*evaluation);
                   return absl::OkStatus();
                 });
  }

 private:
  // Cases of the area as they change, once `from_positions` are applied
  // (so a client resumes after what it saw).
  class WatchReactor final : public server::QueuedStream<v1::Case> {
   public:
    WatchReactor(SupervisionApp* app, eventstore::EventStore* store,
                 v1::WatchCasesRequest request)
        : app_(app), store_(store), request_(std::move(request)) {
      listener_ = app_->Subscribe([this](const v1::Case& c) {
        if (absl::StartsWith(c.area_code(), request_.area_code())) Enqueue(c);
      });
    }
    ~WatchReactor() override { app_->Unsubscribe(listener_); }

   private:
    grpc::Status Produce() override {
      if (store_ != nullptr && !request_.from_positions().empty()) {
        std::vector<common::v1::Position> others;
        std::map<uint32_t, uint64_t> after;  // supervision: partition -> seq
        for (const auto& p : request_.from_positions()) {
          if (p.service() == store_->service()) {
            after[p.partition()] = p.sequence();
          } else {
            others.push_back(p);
          }
        }
        absl::Status s =
            store_->WaitForPositions(others, absl::Now() + kMinPositionsWait);
        if (!s.ok()) return status::ToGrpcStatus(s);
        // Resuming: the cases changed after the positions the client saw
        // (partitions it did not name from their beginning), then live.
        if (!after.empty() && !CatchUp(after)) return grpc::Status::OK;
      }
      return Drain();
    }

    // Sends the current view of every case touched after `after`; false
    // when the client went away.
    bool CatchUp(const std::map<uint32_t, uint64_t>& after) {
      std::set<std::string> sent;
      for (int p = 0; p < store_->partitions(); ++p) {
        auto it = after.find(p);
        uint64_t next = (it == after.end() ? 0 : it->second) + 1;
        while (!cancelled()) {
          auto events = store_->ReadPartition(p, next, 512);
          if (!events.ok() || events->empty()) break;
          for (const auto& stored : *events) {
            ++next;
            auto env = store_->Decode(stored);
            if (!env.ok() || !absl::StartsWith(env->stream_id(), "case/")) {
              continue;
            }
            const std::string id = env->stream_id().substr(5);
            if (!sent.insert(id).second) continue;
            auto c = app_->GetCase(id);
            if (!c.ok() ||
                !absl::StartsWith(c->area_code(), request_.area_code())) {
              continue;
            }
            if (!Send(*c)) return false;
          }
        }
      }
      return !cancelled();
    }

    SupervisionApp* const app_;
    eventstore::EventStore* const store_;
    const v1::WatchCasesRequest request_;
    int listener_ = 0;
  };

  template <typename Request, typename Fn>
  grpc::ServerUnaryReactor* Command(grpc::CallbackServerContext* context,
                                    const char* method, const Request* request,
                                    v1::CaseCommandResponse* response, Fn run) {
    return chassis_->Unary(
        context,
        absl::StrCat("wangge.supervision.v1.SupervisionService.", method),
        request, response, [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          // The case's area is fixed when it opens; an unknown case is the
          // command's NOT_FOUND.
          auto c = app_->GetCaseRecord(request->case_id());
          absl::Status scope = caller.RequireScopeOf(
              c.ok() ? absl::StatusOr<std::string>(c->opened().area_code())
                     : c.status());
          if (!scope.ok()) return scope;
          auto result = run(caller.actor);
          if (!result.ok()) return result.status();
          *response = std::move(*result);
          return absl::OkStatus();
        });
  }

  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Query(
      grpc::CallbackServerContext* context, const char* method,
      const Request* request, Response* response,
      const google::protobuf::RepeatedPtrField<common::v1::Position>& positions,
      std::function<absl::Status(const server::Caller&)> body) {
    std::vector<common::v1::Position> wait(positions.begin(), positions.end());
    return chassis_->Unary(
        context,
        absl::StrCat("wangge.supervision.v1.SupervisionService.", method),
        request, response, [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          if (!wait.empty() && store_ != nullptr) {
            absl::Status s = store_->WaitForPositions(
                wait, server::MinPositionsDeadline(context));
            if (!s.ok()) return s;
          }
          return body(caller);
        });
  }

  server::Chassis* const chassis_;
  SupervisionApp* const app_;
  eventstore::EventStore* const store_;
};

}  // namespace wangge::supervision

#endif  // WANGGE_SERVICES_SUPERVISION_SERVER_SUPERVISION_SERVER_H_
