#ifndef WANGGE_SERVICES_DISPATCH_SERVER_DISPATCH_SERVER_H_
#define WANGGE_SERVICES_DISPATCH_SERVER_DISPATCH_SERVER_H_

// The dispatch service's gRPC surface. Every method enters through the
// chassis guard (role and scope checked before the body); department and
// state rules are the domain's.

#include <algorithm>
#include <deque>
#include <functional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "services/common/server/chassis.h"
#include "services/common/server/threaded_stream.h"
#include "services/common/status/errors.h"
#include "services/dispatch/app/dispatch_app.h"
#include "wangge/dispatch/v1/dispatch.grpc.pb.h"

namespace wangge::dispatch {

class DispatchServer final
    : public ::wangge::dispatch::v1::DispatchService::CallbackService {
 public:
  // `app` may be null (permission tests): bodies then answer UNAVAILABLE.
  explicit DispatchServer(server::Chassis* chassis, DispatchApp* app = nullptr,
                          eventstore::EventStore* store = nullptr)
      : chassis_(chassis), app_(app), store_(store) {}

  grpc::ServerUnaryReactor* AcceptTask(
      grpc::CallbackServerContext* context, const v1::TaskActionRequest* r,
      v1::TaskCommandResponse* response) override {
    return Act(context, "AcceptTask", TaskAction::kAccept, r, response);
  }
  grpc::ServerUnaryReactor* RequestSendBack(
      grpc::CallbackServerContext* context, const v1::TaskActionRequest* r,
      v1::TaskCommandResponse* response) override {
    return Act(context, "RequestSendBack", TaskAction::kRequestSendBack, r,
               response);
  }
  grpc::ServerUnaryReactor* RequestExtension(
      grpc::CallbackServerContext* context, const v1::TaskActionRequest* r,
      v1::TaskCommandResponse* response) override {
    return Act(context, "RequestExtension", TaskAction::kRequestExtension, r,
               response);
  }
  grpc::ServerUnaryReactor* RequestShelving(
      grpc::CallbackServerContext* context, const v1::TaskActionRequest* r,
      v1::TaskCommandResponse* response) override {
    return Act(context, "RequestShelving", TaskAction::kRequestShelving, r,
               response);
  }
  grpc::ServerUnaryReactor* ReportHandled(
      grpc::CallbackServerContext* context, const v1::TaskActionRequest* r,
      v1::TaskCommandResponse* response) override {
    return Act(context, "ReportHandled", TaskAction::kReportHandled, r,
               response);
  }
  grpc::ServerUnaryReactor* RestoreTask(
      grpc::CallbackServerContext* context, const v1::TaskActionRequest* r,
      v1::TaskCommandResponse* response) override {
    return Act(context, "RestoreTask", TaskAction::kRestore, r, response);
  }

  grpc::ServerUnaryReactor* DecideRequest(
      grpc::CallbackServerContext* context,
      const v1::DecideRequestRequest* request,
      v1::TaskCommandResponse* response) override {
    return chassis_->Unary(
        context, "wangge.dispatch.v1.DispatchService.DecideRequest", request,
        response, [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          absl::Status scope = TaskInScope(caller, request->task_id());
          if (!scope.ok()) return scope;
          auto result = app_->Decide(caller.actor, *request);
          if (!result.ok()) return result.status();
          *response = std::move(*result);
          return absl::OkStatus();
        });
  }

  grpc::ServerUnaryReactor* GetTask(grpc::CallbackServerContext* context,
                                    const v1::GetTaskRequest* request,
                                    v1::Task* response) override {
    return chassis_->Unary(
        context, "wangge.dispatch.v1.DispatchService.GetTask", request,
        response, [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          absl::Status waited = Wait(context, request->min_positions());
          if (!waited.ok()) return waited;
          auto task = app_->GetTask(request->task_id());
          if (!task.ok()) return task.status();
          // A handler sees only their own department's tasks; anyone, only
          // their own areas'.
          if (caller.actor.role() == common::v1::ROLE_DEPARTMENT_HANDLER &&
              caller.actor.department() != task->department()) {
            return absl::NotFoundError("no such task in your department");
          }
          if (!caller.InScope(task->area_code())) {
            return absl::NotFoundError("no such task in your scope");
          }
          *response = std::move(*task);
          return absl::OkStatus();
        });
  }

  grpc::ServerUnaryReactor* ListWorkQueue(
      grpc::CallbackServerContext* context,
      const v1::ListWorkQueueRequest* request,
      v1::ListWorkQueueResponse* response) override {
    return chassis_->Unary(
        context, "wangge.dispatch.v1.DispatchService.ListWorkQueue", request,
        response, [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          absl::Status own = OwnQueue(caller, request->department());
          if (!own.ok()) return own;
          absl::Status waited = Wait(context, request->min_positions());
          if (!waited.ok()) return waited;
          auto page =
              app_->ListWorkQueue(request->department(), request->page_size(),
                                  request->page_token());
          if (!page.ok()) return page.status();
          // Tasks outside the caller's areas are left out of the page (the
          // page token still moves past them).
          auto* tasks = page->mutable_tasks();
          tasks->erase(std::remove_if(tasks->begin(), tasks->end(),
                                      [&](const v1::Task& t) {
                                        return !caller.InScope(t.area_code());
                                      }),
                       tasks->end());
          *response = std::move(*page);
          return absl::OkStatus();
        });
  }

  grpc::ServerWriteReactor<v1::Task>* WatchWorkQueue(
      grpc::CallbackServerContext* context,
      const v1::ListWorkQueueRequest* request) override {
    return chassis_->Stream<v1::Task>(
        context, "wangge.dispatch.v1.DispatchService.WatchWorkQueue", *request,
        [=](const server::Caller& caller)
            -> grpc::ServerWriteReactor<v1::Task>* {
          absl::Status own = OwnQueue(caller, request->department());
          if (app_ == nullptr) own = absl::UnavailableError("not loaded");
          if (!own.ok()) {
            return new server::RejectedStream<v1::Task>(
                status::ToGrpcStatus(own));
          }
          auto* watch =
              new WatchReactor(app_, request->department(), caller.scopes);
          watch->Begin(caller.actor.subject());
          return watch;
        });
  }

 private:
  // The current queue, then every change to it as it happens.
  class WatchReactor final : public server::QueuedStream<v1::Task> {
   public:
    WatchReactor(DispatchApp* app, std::string department,
                 std::vector<std::string> scopes)
        : app_(app),
          department_(std::move(department)),
          scopes_(std::move(scopes)) {
      listener_ = app_->Subscribe([this](const v1::Task& task) {
        if (Wanted(task)) Enqueue(task);
      });
    }
    ~WatchReactor() override { app_->Unsubscribe(listener_); }

   private:
    bool Wanted(const v1::Task& task) const {
      return (department_.empty() || task.department() == department_) &&
             auth::InScope(scopes_, task.area_code());
    }

    grpc::Status Produce() override {
      std::string token;
      do {  // the whole queue, a page at a time
        auto queue = app_->ListWorkQueue(department_, 1000, token);
        if (!queue.ok()) return status::ToGrpcStatus(queue.status());
        for (const auto& t : queue->tasks())
          if (Wanted(t) && !Send(t)) return grpc::Status::OK;
        token = queue->next_page_token();
      } while (!token.empty());
      return Drain();
    }

    DispatchApp* const app_;
    const std::string department_;
    const std::vector<std::string> scopes_;
    int listener_ = 0;
  };

  grpc::ServerUnaryReactor* Act(grpc::CallbackServerContext* context,
                                const char* method, TaskAction action,
                                const v1::TaskActionRequest* request,
                                v1::TaskCommandResponse* response) {
    return chassis_->Unary(
        context, absl::StrCat("wangge.dispatch.v1.DispatchService.", method),
        request, response, [=](const server::Caller& caller) -> absl::Status {
          if (app_ == nullptr) return absl::UnavailableError("not loaded");
          absl::Status scope = TaskInScope(caller, request->task_id());
          if (!scope.ok()) return scope;
          auto result = app_->Act(caller.actor, action, *request);
          if (!result.ok()) return result.status();
          *response = std::move(*result);
          return absl::OkStatus();
        });
  }

  // A command on a task outside the caller's areas is refused; an unknown
  // task is the command's NOT_FOUND.
  absl::Status TaskInScope(const server::Caller& caller,
                           const std::string& task_id) const {
    auto task = app_->GetTask(task_id);
    return caller.RequireScopeOf(
        task.ok() ? absl::StatusOr<std::string>(task->area_code())
                  : task.status());
  }

  // Handlers see their own department's queue only.
  static absl::Status OwnQueue(const server::Caller& caller,
                               const std::string& department) {
    if (caller.actor.role() == common::v1::ROLE_DEPARTMENT_HANDLER &&
        department != caller.actor.department()) {
      return status::PermissionDenied(
          "own_department_only",
          "a department's handlers see their own queue only");
    }
    return absl::OkStatus();
  }

  absl::Status Wait(
      const grpc::CallbackServerContext* context,
      const google::protobuf::RepeatedPtrField<common::v1::Position>& positions)
      const {
    if (store_ == nullptr) return absl::OkStatus();
    return store_->WaitForPositions(positions,
                                    server::MinPositionsDeadline(context));
  }

  server::Chassis* const chassis_;
  DispatchApp* const app_;
  eventstore::EventStore* const store_;
};

}  // namespace wangge::dispatch

#endif  // WANGGE_SERVICES_DISPATCH_SERVER_DISPATCH_SERVER_H_
