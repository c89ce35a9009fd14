#include "services/dispatch/app/dispatch_app.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/clock/proto_time.h"
#include "services/common/clock/time_key.h"
#include "services/common/eventstore/list_page.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"
#include "wangge/supervision/v1/events.pb.h"

namespace wangge::dispatch {
namespace {

bool Open(const v1::TaskRecord& t) {
  return t.status() != v1::TASK_STATUS_HANDLED &&
         t.status() != v1::TASK_STATUS_SENT_BACK;
}

std::string QueueKey(const v1::TaskRecord& t) {
  return absl::StrCat(t.dispatched().department(), "/",
                      t.dispatched().task_id());
}

common::v1::Actor ServiceActor() {
  common::v1::Actor a;
  a.set_subject("dispatch");
  a.set_role(common::v1::ROLE_SERVICE_DISPATCH);
  return a;
}

const char* ActionName(TaskAction a) {
  switch (a) {
    case TaskAction::kAccept:
      return "accept";
    case TaskAction::kRequestSendBack:
      return "send-back";
    case TaskAction::kRequestExtension:
      return "extension";
    case TaskAction::kRequestShelving:
      return "shelving";
    case TaskAction::kReportHandled:
      return "handled";
    case TaskAction::kDecide:
      return "decide";
    case TaskAction::kRestore:
      return "restore";
  }
  return "?";
}

}  // namespace

DispatchApp::DispatchApp(eventstore::EventStore* store,
                         registry::RegistryReplica* registry,
                         DispatchOptions options, const Clock* clock)
    : store_(store),
      registry_(registry),
      options_(options),
      clock_(clock),
      timers_(
          [this](size_t max) {
            auto fired = FireDueTimers(max);
            if (on_overdue_backlog &&
                absl::Now() - backlog_counted_ >= backlog_every) {
              backlog_counted_ = absl::Now();
              auto backlog = OverdueBacklog();
              if (backlog.ok()) on_overdue_backlog(*backlog);
            }
            return fired;
          },
          options.timers_per_batch, options.timer_idle) {}

DispatchApp::~DispatchApp() { StopTimers(); }

absl::StatusOr<v1::TaskRecord> DispatchApp::Load(
    const std::string& task_id) const {
  v1::TaskRecord record;
  ASSIGN_OR_RETURN(auto row, store_->GetProjection(kTasksProjection, task_id));
  if (row && !record.ParseFromString(*row)) {
    return absl::DataLossError(absl::StrCat("task row ", task_id));
  }
  return record;
}

absl::StatusOr<eventstore::AppendRequest> DispatchApp::Effects(
    const std::vector<Emitted>& emitted,
    std::map<std::string, v1::TaskRecord> tasks, const std::string& cause,
    absl::Time now, std::vector<v1::Task>* changed) const {
  eventstore::AppendRequest r;
  for (const auto& group : domain::GroupByStream(emitted)) {
    const std::string& id = group.stream_id;
    const v1::TaskRecord before = tasks[id];
    v1::TaskRecord after = before;
    for (const auto& e : group.events) {
      RETURN_IF_ERROR(Evolve(after, *e.event, now));
    }
    const std::string case_id = after.dispatched().case_id();
    r.streams.push_back(domain::ToStream(
        group, static_cast<int64_t>(before.version()), case_id, cause, now));
    r.projection_writes.push_back(
        {kTasksProjection, id, after.SerializeAsString()});
    if (Open(after)) {
      r.projection_writes.push_back({kQueueProjection, QueueKey(after),
                                     TaskView(after, now).SerializeAsString()});
    } else if (before.version() > 0) {
      r.projection_writes.push_back(
          {kQueueProjection, QueueKey(before), std::nullopt});
    }
    const bool was_overdue =
        before.version() > 0 && Open(before) && before.overdue();
    const bool is_overdue = Open(after) && after.overdue();
    if (is_overdue && !was_overdue) {
      r.projection_writes.push_back(
          {kOverdueProjection, id, after.dispatched().department()});
    } else if (was_overdue && !is_overdue) {
      r.projection_writes.push_back({kOverdueProjection, id, std::nullopt});
    }
    eventstore::MoveTimer(
        kTimersProjection, id,
        before.version() > 0 ? NextTimer(before) : absl::InfiniteFuture(),
        NextTimer(after), &r.projection_writes);
    if (before.version() == 0) {
      r.projection_writes.push_back({kCaseTasksProjection, case_id, id});
    }
    if (changed != nullptr) changed->push_back(TaskView(after, now));
  }
  return r;
}

absl::StatusOr<eventstore::AppendRequest> DispatchApp::SupervisionEffects(
    const common::v1::EventEnvelope& env) {
  // Naming the types through their descriptors also links their generated
  // code into this binary, so that Unpack finds them.
  const std::string& type = env.event_type();
  const std::string& filed_type =
      supervision::v1::CaseFiled::descriptor()->full_name();
  const std::string& rework_type =
      supervision::v1::CaseReworkOrdered::descriptor()->full_name();
  const std::string& reopened_type =
      supervision::v1::CaseReopened::descriptor()->full_name();
  if (type != filed_type && type != rework_type && type != reopened_type) {
    return eventstore::AppendRequest{};
  }
  ASSIGN_OR_RETURN(auto event, domain::Unpack(env));
  CaseToDispatch c;
  if (type == filed_type) {
    const auto& filed = static_cast<const supervision::v1::CaseFiled&>(*event);
    c.category_code = filed.category_code();
    c.area_code = filed.area_code();
    c.component_id = filed.component_id();
    c.urgency = filed.urgency();
    c.reason = "filed";
  }
  const auto* field = event->GetDescriptor()->FindFieldByName("case_id");
  c.case_id = event->GetReflection()->GetString(*event, field);
  ASSIGN_OR_RETURN(auto latest_id,
                   store_->GetProjection(kCaseTasksProjection, c.case_id));
  std::map<std::string, v1::TaskRecord> tasks;
  if (latest_id) {
    if (c.reason == "filed") return eventstore::AppendRequest{};  // done
    ASSIGN_OR_RETURN(v1::TaskRecord latest, Load(*latest_id));
    const auto& d = latest.dispatched();
    c.category_code = d.category_code();
    c.area_code = d.area_code();
    c.component_id = d.component_id();
    c.urgency = d.urgency();
    c.attempt = d.attempt() + 1;
    c.rework_count = d.rework_count();
    c.department = d.department();
    if (type == rework_type) {
      const auto& rework =
          static_cast<const supervision::v1::CaseReworkOrdered&>(*event);
      c.reason = "rework";
      c.rework_count = rework.rework_count();
      c.department = rework.department();
    } else {
      c.reason = "reopened";
    }
  } else if (c.reason != "filed") {
    return absl::FailedPreconditionError(
        absl::StrCat(type, " for case ", c.case_id, " that has no task"));
  }
  const absl::Time now = clock_->Now();
  absl::StatusOr<Emitted> dispatched = registry_->Read(
      [&](const registry::RegistryState& state) -> absl::StatusOr<Emitted> {
        if (state.policies.empty()) {
          // The registry copy is still loading: try again later.
          return absl::UnavailableError("no registry policy yet");
        }
        return DecideDispatch(state, c, now);
      });
  if (!dispatched.ok()) return dispatched.status();
  ASSIGN_OR_RETURN(auto r,
                   Effects({*dispatched}, tasks, env.event_id(), now, nullptr));
  r.actor = ServiceActor();
  return r;
}

absl::StatusOr<v1::TaskCommandResponse> DispatchApp::Commit(
    const common::v1::Actor& actor, const std::string& command_id,
    const std::string& task_id,
    const std::function<absl::StatusOr<std::vector<Emitted>>(
        const v1::TaskRecord&, const registry::RegistryState&)>& decide) {
  if (task_id.empty()) return status::InvalidField("task_id", "required");
  v1::TaskCommandResponse response;
  response.set_task_id(task_id);
  if (!command_id.empty()) {
    ASSIGN_OR_RETURN(auto first, store_->CommandResult(command_id));
    if (first) {
      // A retry: the first result, nothing written.
      if (!response.ParseFromString(first->command_response) ||
          first->command_response.empty()) {
        // Recorded before answers were kept: the task's status now.
        response.Clear();
        response.set_task_id(task_id);
        ASSIGN_OR_RETURN(v1::TaskRecord task, Load(task_id));
        response.set_status(static_cast<v1::TaskStatus>(task.status()));
      }
      for (const auto& p : first->positions) *response.add_positions() = p;
      return response;
    }
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(v1::TaskRecord task, Load(task_id));
    if (task.version() == 0) {
      return absl::NotFoundError(absl::StrCat("no task ", task_id));
    }
    const absl::Time now = clock_->Now();
    auto decided = registry_->Read([&](const registry::RegistryState& state) {
      return decide(task, state);
    });
    if (!decided.ok()) return decided.status();
    std::vector<v1::Task> changed;
    ASSIGN_OR_RETURN(auto request, Effects(*decided, {{task_id, task}},
                                           command_id, now, &changed));
    response.set_status(changed.front().status());
    request.command_id = command_id;
    if (!command_id.empty()) {
      request.command_response = response.SerializeAsString();
    }
    request.actor = actor;
    auto result = store_->Append(std::move(request));
    if (!result.ok() && result.status().code() == absl::StatusCode::kAborted) {
      continue;  // a timer or another command wrote the task: decide again
    }
    if (!result.ok()) return result.status();
    if (result->duplicate) return Commit(actor, command_id, task_id, decide);
    Publish(changed);
    for (const auto& p : result->positions) *response.add_positions() = p;
    return response;
  }
  return absl::AbortedError(
      absl::StrCat("task ", task_id, " kept changing; try again"));
}

absl::StatusOr<v1::TaskCommandResponse> DispatchApp::Act(
    const common::v1::Actor& actor, TaskAction action,
    const v1::TaskActionRequest& request) {
  const std::string command_id =
      request.request_id().empty()
          ? ""
          : absl::StrCat(request.task_id(), "/", ActionName(action), "/",
                         actor.subject(), "/", request.request_id());
  const absl::Time now = clock_->Now();
  return Commit(
      actor, command_id, request.task_id(),
      [&](const v1::TaskRecord& task, const registry::RegistryState& state)
          -> absl::StatusOr<std::vector<Emitted>> {
        switch (action) {
          case TaskAction::kAccept:
            return DecideAccept(task, actor, now);
          case TaskAction::kRequestSendBack:
            return DecideRequest(task, actor, RequestKind::kSendBack,
                                 request.reason(), 0, now);
          case TaskAction::kRequestExtension:
            return DecideRequest(task, actor, RequestKind::kExtension,
                                 request.reason(), request.extension_minutes(),
                                 now);
          case TaskAction::kRequestShelving:
            return DecideRequest(task, actor, RequestKind::kShelving,
                                 request.reason(), 0, now);
          case TaskAction::kReportHandled:
            return DecideReportHandled(task, actor, request.note(),
                                       {request.evidence_sha256().begin(),
                                        request.evidence_sha256().end()},
                                       now);
          case TaskAction::kRestore:
            return DecideRestore(task, actor, state, now);
          case TaskAction::kDecide:
            break;
        }
        return absl::InvalidArgumentError("use Decide");
      });
}

absl::StatusOr<v1::TaskCommandResponse> DispatchApp::Decide(
    const common::v1::Actor& actor, const v1::DecideRequestRequest& request) {
  if (request.decision() == v1::DECISION_UNSPECIFIED) {
    return status::InvalidField("decision", "APPROVE or REFUSE");
  }
  const std::string command_id =
      request.request_id().empty()
          ? ""
          : absl::StrCat(request.task_id(), "/decide/", actor.subject(), "/",
                         request.request_id());
  const absl::Time now = clock_->Now();
  return Commit(
      actor, command_id, request.task_id(),
      [&](const v1::TaskRecord& task, const registry::RegistryState& state) {
        return DecideRuling(
            task, actor, request.decision() == v1::DECISION_APPROVE,
            request.reason(), request.redispatch_department(), state, now);
      });
}

absl::StatusOr<v1::TaskRecord> DispatchApp::GetTaskRecord(
    const std::string& task_id) const {
  ASSIGN_OR_RETURN(v1::TaskRecord task, Load(task_id));
  if (task.version() == 0) {
    return absl::NotFoundError(absl::StrCat("no task ", task_id));
  }
  return task;
}

absl::StatusOr<v1::Task> DispatchApp::View(const v1::TaskRecord& task,
                                           absl::Time now) const {
  v1::Task view = TaskView(task, now);
  ASSIGN_OR_RETURN(auto row,
                   store_->GetProjection(kCaseNoticesProjection,
                                         task.dispatched().case_id()));
  v1::CaseNotices notices;
  if (row && !notices.ParseFromString(*row)) {
    return absl::DataLossError("case_notices row");
  }
  for (const auto& id : notices.notice_ids()) view.add_oversight_notices(id);
  return view;
}

absl::StatusOr<v1::Task> DispatchApp::GetTask(
    const std::string& task_id) const {
  ASSIGN_OR_RETURN(v1::TaskRecord task, GetTaskRecord(task_id));
  return View(task, clock_->Now());
}

absl::StatusOr<eventstore::AppendRequest> DispatchApp::OversightEffects(
    const common::v1::EventEnvelope& env) {
  eventstore::AppendRequest r;
  const std::string& type = env.event_type();
  const bool raised = type == "wangge.oversight.v1.NoticeRaised";
  const bool resolved = type == "wangge.oversight.v1.NoticeResolved";
  if (!raised && !resolved) return r;
  // "notice/<case id>/<trigger...>"
  if (!absl::StartsWith(env.stream_id(), "notice/")) return r;
  const std::string notice_id = env.stream_id().substr(7);
  const std::string case_id = notice_id.substr(0, notice_id.find('/'));
  ASSIGN_OR_RETURN(auto row,
                   store_->GetProjection(kCaseNoticesProjection, case_id));
  v1::CaseNotices notices;
  if (row && !notices.ParseFromString(*row)) {
    return absl::DataLossError("case_notices row");
  }
  v1::CaseNotices next;
  for (const auto& id : notices.notice_ids())
    if (id != notice_id) next.add_notice_ids(id);
  if (raised) next.add_notice_ids(notice_id);
  r.projection_writes.push_back(
      {kCaseNoticesProjection, case_id,
       next.notice_ids_size() == 0
           ? std::optional<std::string>()
           : std::optional<std::string>(next.SerializeAsString())});
  return r;
}

void DispatchApp::OnOversightApplied(const common::v1::EventEnvelope& env) {
  if (!absl::StartsWith(env.stream_id(), "notice/")) return;
  const std::string notice_id = env.stream_id().substr(7);
  const std::string case_id = notice_id.substr(0, notice_id.find('/'));
  auto latest = store_->GetProjection(kCaseTasksProjection, case_id);
  if (!latest.ok() || !*latest) return;
  auto task = Load(**latest);
  if (!task.ok() || task->version() == 0) return;
  auto view = View(*task, clock_->Now());
  if (view.ok()) Publish({*view});
}

absl::StatusOr<v1::ListWorkQueueResponse> DispatchApp::ListWorkQueue(
    const std::string& department, int page_size,
    const std::string& page_token) const {
  eventstore::ListPageRequest request;
  request.projection = kQueueProjection;
  request.prefix = department.empty() ? "" : department + "/";
  request.page_size = page_size;
  request.page_token = page_token;
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(
      auto page,
      eventstore::ReadListPage<v1::Task>(
          *store_, request,
          [&](const std::string& key,
              const std::string&) -> absl::StatusOr<std::optional<v1::Task>> {
            // The row's colour was right when written: recompute it now.
            ASSIGN_OR_RETURN(auto task, Load(key.substr(key.find('/') + 1)));
            return View(task, now);
          }));
  v1::ListWorkQueueResponse out;
  for (auto& task : page.rows) *out.add_tasks() = std::move(task);
  out.set_next_page_token(page.next_page_token);
  return out;
}

absl::StatusOr<size_t> DispatchApp::FireDueTimers(size_t max) {
  const absl::Time now = clock_->Now();
  ASSIGN_OR_RETURN(auto due,
                   eventstore::DueTimers(*store_, kTimersProjection, now, max));
  size_t fired = 0;
  for (size_t i = 0; i < due.size(); i += options_.timers_per_append) {
    const size_t end = std::min(due.size(), i + options_.timers_per_append);
    // One append for the chunk; if a command raced one of its tasks, each
    // task again on its own.
    for (int pass = 0; pass < 2; ++pass) {
      bool aborted = false;
      for (size_t j = i; j < end && !aborted;) {
        const size_t stop = pass == 0 ? end : j + 1;
        std::map<std::string, v1::TaskRecord> tasks;
        std::vector<Emitted> emitted;
        eventstore::AppendRequest stale;
        for (size_t k = j; k < stop; ++k) {
          const std::string& id = due[k].second;
          ASSIGN_OR_RETURN(v1::TaskRecord task, Load(id));
          auto events = DecideTimers(task, now);
          if (events.empty()) {
            // The row outlived its schedule (a crash between writes cannot
            // cause this, but a hand-edited store could): drop it.
            if (NextTimer(task) == absl::InfiniteFuture() ||
                TimeKey(NextTimer(task), id) != due[k].first) {
              stale.projection_writes.push_back(
                  {kTimersProjection, due[k].first, std::nullopt});
            }
            continue;
          }
          if (on_timer_lateness) {
            on_timer_lateness(absl::ToDoubleSeconds(now - NextTimer(task)));
          }
          tasks[id] = task;
          for (auto& e : events) emitted.push_back(std::move(e));
        }
        std::vector<v1::Task> changed;
        ASSIGN_OR_RETURN(auto request,
                         Effects(emitted, tasks, "timer", now, &changed));
        request.actor = ServiceActor();
        for (auto& w : stale.projection_writes)
          request.projection_writes.push_back(std::move(w));
        if (request.streams.empty() && request.projection_writes.empty()) {
          j = stop;
          continue;
        }
        auto result = store_->Append(std::move(request));
        if (!result.ok() &&
            result.status().code() == absl::StatusCode::kAborted) {
          if (pass == 0) {
            aborted = true;
            break;
          }
          j = stop;  // a command moved this task on: its next run decides
          continue;
        }
        if (!result.ok()) return result.status();
        fired += tasks.size();
        timers_fired_ += tasks.size();
        if (on_overdue) {
          for (const auto& e : emitted) {
            if (e.event->GetDescriptor() == v1::TaskOverdue::descriptor()) {
              on_overdue();
            }
          }
        }
        Publish(changed);
        j = stop;
      }
      if (!aborted) break;
    }
  }
  return fired;
}

absl::StatusOr<size_t> DispatchApp::OverdueBacklog() const {
  size_t n = 0;
  RETURN_IF_ERROR(store_->ScanProjection(
      kOverdueProjection, "", [&](const std::string&, const std::string&) {
        ++n;
        return true;
      }));
  return n;
}

void DispatchApp::StartTimers() { timers_.Start(); }

void DispatchApp::StopTimers() { timers_.Stop(); }

void DispatchApp::Publish(const std::vector<v1::Task>& changed) {
  listeners_.Publish(changed);
}

}  // namespace wangge::dispatch
