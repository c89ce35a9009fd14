#include "services/dispatch/domain/task.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/evidence.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"
#include "services/registry/domain/policy.h"

namespace wangge::dispatch {
namespace {

using common::v1::Actor;
using status::InvalidField;
using status::PermissionDenied;

const char* StatusName(int status) {
  return v1::TaskStatus_Name(static_cast<v1::TaskStatus>(status)).c_str();
}

absl::Status WrongState(const v1::TaskRecord& task, const char* action) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", action, " task ", task.dispatched().task_id(),
                   " in state ", StatusName(task.status())));
}

// Only a department's own handlers act on its tasks.
absl::Status OwnDepartment(const v1::TaskRecord& task, const Actor& actor) {
  if (actor.role() != common::v1::ROLE_DEPARTMENT_HANDLER ||
      actor.department() != task.dispatched().department()) {
    return PermissionDenied(
        "own_department_only",
        absl::StrCat("task ", task.dispatched().task_id(), " belongs to ",
                     task.dispatched().department(), ", not to '",
                     actor.department(), "'"));
  }
  return absl::OkStatus();
}

absl::Status CommandCentre(const Actor& actor) {
  if (actor.role() != common::v1::ROLE_DISPATCHER) {
    return PermissionDenied("command_centre_only",
                            "only the command centre's dispatchers rule");
  }
  return absl::OkStatus();
}

bool Running(int status) {
  return status == v1::TASK_STATUS_DISPATCHED ||
         status == v1::TASK_STATUS_ACCEPTED ||
         status == v1::TASK_STATUS_SEND_BACK_REQUESTED ||
         status == v1::TASK_STATUS_EXTENSION_REQUESTED ||
         status == v1::TASK_STATUS_SHELVING_REQUESTED;
}

bool Pending(int status) {
  return status == v1::TASK_STATUS_SEND_BACK_REQUESTED ||
         status == v1::TASK_STATUS_EXTENSION_REQUESTED ||
         status == v1::TASK_STATUS_SHELVING_REQUESTED;
}

absl::StatusOr<const registry::v1::PolicyPublished*> PolicyIn(
    const registry::RegistryState& registry, absl::Time now) {
  const auto* policy = registry::PolicyAt(registry, now);
  if (policy == nullptr) {
    return absl::FailedPreconditionError("no registry policy in force");
  }
  return policy;
}

bool HasDepartment(const registry::v1::PolicyPublished& policy,
                   const std::string& id) {
  for (const auto& d : policy.departments())
    if (d.id() == id) return true;
  return false;
}

std::string Stream(const v1::TaskRecord& task) {
  return task.dispatched().task_id();
}

}  // namespace

absl::StatusOr<Emitted> DecideDispatch(const registry::RegistryState& registry,
                                       const CaseToDispatch& c,
                                       absl::Time now) {
  if (c.case_id.empty()) return InvalidField("case_id", "required");
  ASSIGN_OR_RETURN(const auto* policy, PolicyIn(registry, now));
  const auto* cls = registry::ClassOf(*policy, c.category_code);
  if (cls == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "class ", c.category_code, " is not in policy ", policy->version()));
  }
  // Filing checked this against the policy of its time; a newer policy may
  // have dropped the urgency.
  const std::optional<registry::AppliedLimit> limit =
      registry::TimeLimitFor(*cls, c.urgency);
  if (!limit) {
    return absl::FailedPreconditionError(absl::StrCat(
        "class ", c.category_code, " has no time limit for ", c.urgency));
  }
  v1::TaskDispatched e;
  // A rework or a reopen goes back to the case's department; if a newer
  // policy dropped that department, the case is routed again (failing
  // would leave the case with no task at all).
  const bool automatic = c.reason == "rework" || c.reason == "reopened";
  if (c.department.empty() ||
      (automatic && !HasDepartment(*policy, c.department))) {
    ASSIGN_OR_RETURN(
        registry::Responsible who,
        registry::ResolveDepartment(registry, c.category_code, c.area_code,
                                    c.component_id, now));
    e.set_department(who.department_id);
    e.set_locality_fallback(who.locality_fallback);
  } else {
    if (!HasDepartment(*policy, c.department)) {
      return InvalidField("department",
                          absl::StrCat("no department ", c.department));
    }
    e.set_department(c.department);
  }
  ASSIGN_OR_RETURN(absl::Time due,
                   registry::Deadline(policy->calendar(), now, limit->minutes,
                                      limit->working_time));
  ASSIGN_OR_RETURN(absl::Time yellow,
                   registry::DeadlineAfter(policy->calendar(), now,
                                           absl::Minutes(limit->minutes) * 0.8,
                                           limit->working_time));
  e.set_task_id(TaskId(c.case_id, c.attempt));
  e.set_case_id(c.case_id);
  e.set_attempt(c.attempt);
  e.set_category_code(c.category_code);
  e.set_area_code(c.area_code);
  e.set_component_id(c.component_id);
  e.set_urgency(c.urgency);
  *e.mutable_dispatched_time() = ToProto(now);
  *e.mutable_due_time() = ToProto(due);
  *e.mutable_yellow_time() = ToProto(yellow);
  e.set_limit_minutes(limit->minutes);
  e.set_working_time(limit->working_time);
  e.set_rework_count(c.rework_count);
  e.set_reason(c.reason);
  e.set_extension_allowed(cls->extension_allowed());
  const std::string stream = e.task_id();
  return domain::Emit(stream, std::move(e), policy->version());
}

absl::StatusOr<std::vector<Emitted>> DecideAccept(const v1::TaskRecord& task,
                                                  const Actor& actor,
                                                  absl::Time) {
  RETURN_IF_ERROR(OwnDepartment(task, actor));
  if (task.status() != v1::TASK_STATUS_DISPATCHED)
    return WrongState(task, "accept");
  v1::TaskAccepted e;
  e.set_task_id(Stream(task));
  e.set_department(task.dispatched().department());
  return std::vector<Emitted>{domain::Emit(Stream(task), e)};
}

namespace {

// Past its deadline by the clock, whether or not its overdue timer has fired
// yet (the timer thread runs behind by up to a scan, and by the downtime
// after a restart). A shelved task's clock is stopped.
bool PastDue(const v1::TaskRecord& task, absl::Time now) {
  if (task.overdue()) return true;
  if (task.status() == v1::TASK_STATUS_SHELVED || !task.has_due_time()) {
    return false;
  }
  return now >= FromProto(task.due_time());
}

}  // namespace

absl::StatusOr<std::vector<Emitted>> DecideRequest(
    const v1::TaskRecord& task, const Actor& actor, RequestKind kind,
    const std::string& reason, uint32_t minutes, absl::Time now) {
  RETURN_IF_ERROR(OwnDepartment(task, actor));
  const char* action = kind == RequestKind::kSendBack    ? "send back"
                       : kind == RequestKind::kExtension ? "extend"
                                                         : "shelve";
  if (task.status() != v1::TASK_STATUS_DISPATCHED &&
      task.status() != v1::TASK_STATUS_ACCEPTED) {
    return WrongState(task, action);
  }
  if (reason.empty()) return InvalidField("reason", "required");
  RETURN_IF_ERROR(domain::ValidText("reason", reason));
  std::vector<Emitted> out;
  switch (kind) {
    case RequestKind::kSendBack: {
      v1::SendBackRequested e;
      e.set_task_id(Stream(task));
      e.set_reason(reason);
      out.push_back(domain::Emit(Stream(task), e));
      break;
    }
    case RequestKind::kExtension: {
      if (!task.dispatched().extension_allowed()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the class policy of ", task.dispatched().category_code(),
            " allows no extension (延期)"));
      }
      if (PastDue(task, now)) {
        return absl::FailedPreconditionError(
            "the task is already overdue: an extension comes before the "
            "deadline");
      }
      if (minutes == 0) {
        return InvalidField("extension_minutes", "required, more than 0");
      }
      v1::ExtensionRequested e;
      e.set_task_id(Stream(task));
      e.set_reason(reason);
      e.set_minutes(minutes);
      out.push_back(domain::Emit(Stream(task), e));
      break;
    }
    case RequestKind::kShelving: {
      v1::ShelvingRequested e;
      e.set_task_id(Stream(task));
      e.set_reason(reason);
      out.push_back(domain::Emit(Stream(task), e));
      break;
    }
  }
  return out;
}

absl::StatusOr<std::vector<Emitted>> DecideReportHandled(
    const v1::TaskRecord& task, const Actor& actor, const std::string& result,
    const std::vector<std::string>& evidence, absl::Time now) {
  RETURN_IF_ERROR(OwnDepartment(task, actor));
  // Accepted (签收) first: the response rate counts acceptances.
  if (task.status() != v1::TASK_STATUS_ACCEPTED) {
    return WrongState(task, "report handled");
  }
  if (result.empty()) return InvalidField("note", "the result is required");
  RETURN_IF_ERROR(domain::ValidText("note", result));
  RETURN_IF_ERROR(domain::ValidEvidence(evidence));
  v1::TaskHandled e;
  e.set_task_id(Stream(task));
  e.set_case_id(task.dispatched().case_id());
  e.set_department(task.dispatched().department());
  e.set_handler_subject(actor.subject());
  e.set_result(result);
  for (const auto& h : evidence) e.add_evidence_sha256(h);
  *e.mutable_handled_time() = ToProto(now);
  // At the deadline the task is overdue (DecideTimers fires at now >= due),
  // so it is not also on time.
  e.set_on_time(!task.overdue() && now < FromProto(task.due_time()));
  *e.mutable_due_time() = task.due_time();
  // The clock stops here: a warning or overdue that is due but not yet
  // fired by the timer thread fires first, so no late task goes unnoted.
  std::vector<Emitted> out = DecideTimers(task, now);
  out.push_back(domain::Emit(Stream(task), e));
  return out;
}

absl::StatusOr<std::vector<Emitted>> DecideRuling(
    const v1::TaskRecord& task, const Actor& actor, bool approve,
    const std::string& reason, const std::string& redispatch_department,
    const registry::RegistryState& registry, absl::Time now) {
  RETURN_IF_ERROR(CommandCentre(actor));
  if (!Pending(task.status())) return WrongState(task, "rule on");
  if (!approve && reason.empty()) {
    return InvalidField("reason", "a refusal needs a reason");
  }
  RETURN_IF_ERROR(domain::ValidText("reason", reason));
  const auto& d = task.dispatched();
  // As for a handled report: what is due fires before the ruling.
  std::vector<Emitted> out = DecideTimers(task, now);
  switch (task.status()) {
    case v1::TASK_STATUS_SEND_BACK_REQUESTED: {
      v1::SendBackDecided e;
      e.set_task_id(Stream(task));
      e.set_department(d.department());
      e.set_on_time(now <= FromProto(task.requested_time()) + kRulingWithin);
      e.set_approved(approve);
      e.set_reason(reason);
      if (approve) {
        if (redispatch_department.empty()) {
          return InvalidField("redispatch_department",
                              "required to approve a send-back");
        }
        if (redispatch_department == d.department()) {
          return InvalidField("redispatch_department",
                              "the department that sent it back");
        }
        ASSIGN_OR_RETURN(const auto* policy, PolicyIn(registry, now));
        if (!HasDepartment(*policy, redispatch_department)) {
          return InvalidField(
              "redispatch_department",
              absl::StrCat("no department ", redispatch_department));
        }
        e.set_redispatch_department(redispatch_department);
        CaseToDispatch next;
        next.case_id = d.case_id();
        next.category_code = d.category_code();
        next.area_code = d.area_code();
        next.component_id = d.component_id();
        next.urgency = d.urgency();
        next.attempt = d.attempt() + 1;
        next.rework_count = d.rework_count();
        next.reason = "send_back";
        next.department = redispatch_department;
        ASSIGN_OR_RETURN(Emitted dispatched,
                         DecideDispatch(registry, next, now));
        out.push_back(domain::Emit(Stream(task), e));
        out.push_back(std::move(dispatched));
      } else {
        out.push_back(domain::Emit(Stream(task), e));
      }
      break;
    }
    case v1::TASK_STATUS_EXTENSION_REQUESTED: {
      v1::ExtensionDecided e;
      e.set_task_id(Stream(task));
      e.set_department(d.department());
      e.set_on_time(now <= FromProto(task.requested_time()) + kRulingWithin);
      e.set_approved(approve);
      e.set_reason(reason);
      std::string version;
      if (approve && PastDue(task, now)) {
        // The deadline passed while the request waited: too late to extend.
        return absl::FailedPreconditionError(
            "the task went overdue while the extension waited: refuse it");
      }
      if (approve) {
        ASSIGN_OR_RETURN(const auto* policy, PolicyIn(registry, now));
        version = policy->version();
        const absl::Duration more = absl::Minutes(task.requested_minutes());
        ASSIGN_OR_RETURN(absl::Time due,
                         registry::DeadlineAfter(policy->calendar(),
                                                 FromProto(task.due_time()),
                                                 more, d.working_time()));
        // Yellow moves on by 80% of the time added (a shelved spell, already
        // in both, stays out of it).
        ASSIGN_OR_RETURN(absl::Time yellow,
                         registry::DeadlineAfter(policy->calendar(),
                                                 FromProto(task.yellow_time()),
                                                 more * 0.8, d.working_time()));
        *e.mutable_due_time() = ToProto(due);
        *e.mutable_yellow_time() = ToProto(yellow);
      }
      out.push_back(domain::Emit(Stream(task), e, version));
      break;
    }
    case v1::TASK_STATUS_SHELVING_REQUESTED: {
      v1::ShelvingDecided e;
      e.set_task_id(Stream(task));
      e.set_department(d.department());
      e.set_on_time(now <= FromProto(task.requested_time()) + kRulingWithin);
      e.set_approved(approve);
      e.set_reason(reason);
      std::string version;
      if (approve) {
        ASSIGN_OR_RETURN(const auto* policy, PolicyIn(registry, now));
        version = policy->version();
        ASSIGN_OR_RETURN(absl::Duration left,
                         registry::TimeBetween(policy->calendar(), now,
                                               FromProto(task.due_time()),
                                               d.working_time()));
        ASSIGN_OR_RETURN(absl::Duration to_yellow,
                         registry::TimeBetween(policy->calendar(), now,
                                               FromProto(task.yellow_time()),
                                               d.working_time()));
        e.set_remaining_seconds(absl::ToInt64Seconds(left));
        e.set_remaining_to_yellow_seconds(absl::ToInt64Seconds(to_yellow));
      }
      out.push_back(domain::Emit(Stream(task), e, version));
      break;
    }
    default:
      return WrongState(task, "rule on");
  }
  return out;
}

absl::StatusOr<std::vector<Emitted>> DecideRestore(
    const v1::TaskRecord& task, const Actor& actor,
    const registry::RegistryState& registry, absl::Time now) {
  RETURN_IF_ERROR(CommandCentre(actor));
  if (task.status() != v1::TASK_STATUS_SHELVED)
    return WrongState(task, "restore");
  ASSIGN_OR_RETURN(const auto* policy, PolicyIn(registry, now));
  const bool wt = task.dispatched().working_time();
  ASSIGN_OR_RETURN(
      absl::Time due,
      registry::DeadlineAfter(policy->calendar(), now,
                              absl::Seconds(task.remaining_seconds()), wt));
  ASSIGN_OR_RETURN(absl::Time yellow,
                   registry::DeadlineAfter(
                       policy->calendar(), now,
                       absl::Seconds(task.remaining_to_yellow_seconds()), wt));
  v1::TaskRestored e;
  e.set_task_id(Stream(task));
  *e.mutable_due_time() = ToProto(due);
  *e.mutable_yellow_time() = ToProto(yellow);
  // Back to where the shelving was asked from: a restore is no 签收.
  e.set_not_yet_accepted(task.status_before_request() ==
                         v1::TASK_STATUS_DISPATCHED);
  return std::vector<Emitted>{domain::Emit(Stream(task), e, policy->version())};
}

bool ClockRuns(const v1::TaskRecord& task) { return Running(task.status()); }

absl::Time NextTimer(const v1::TaskRecord& task) {
  if (!ClockRuns(task) || task.overdue()) return absl::InfiniteFuture();
  if (!task.yellow_fired()) return FromProto(task.yellow_time());
  return FromProto(task.due_time());
}

std::vector<Emitted> DecideTimers(const v1::TaskRecord& task, absl::Time now) {
  std::vector<Emitted> out;
  if (!ClockRuns(task) || task.overdue()) return out;
  const auto& d = task.dispatched();
  if (!task.yellow_fired() && now >= FromProto(task.yellow_time())) {
    v1::TaskYellowWarning e;
    e.set_task_id(Stream(task));
    e.set_case_id(d.case_id());
    e.set_department(d.department());
    *e.mutable_due_time() = task.due_time();
    out.push_back(domain::Emit(Stream(task), e));
  }
  if (now >= FromProto(task.due_time())) {
    v1::TaskOverdue e;
    e.set_task_id(Stream(task));
    e.set_case_id(d.case_id());
    e.set_department(d.department());
    *e.mutable_due_time() = task.due_time();
    out.push_back(domain::Emit(Stream(task), e));
  }
  return out;
}

absl::Status Evolve(v1::TaskRecord& task,
                    const google::protobuf::Message& event,
                    absl::Time occurred) {
  const auto* type = event.GetDescriptor();
  auto as = [&](auto* prototype) {
    return static_cast<const std::remove_pointer_t<decltype(prototype)>&>(
        event);
  };
  if (type == v1::TaskDispatched::descriptor()) {
    const auto& e = as((v1::TaskDispatched*)nullptr);
    task.Clear();
    *task.mutable_dispatched() = e;
    task.set_status(v1::TASK_STATUS_DISPATCHED);
    *task.mutable_due_time() = e.due_time();
    *task.mutable_yellow_time() = e.yellow_time();
  } else if (type == v1::TaskAccepted::descriptor()) {
    task.set_status(v1::TASK_STATUS_ACCEPTED);
  } else if (type == v1::SendBackRequested::descriptor()) {
    *task.mutable_requested_time() = ToProto(occurred);
    task.set_status_before_request(task.status());
    task.set_status(v1::TASK_STATUS_SEND_BACK_REQUESTED);
  } else if (type == v1::ExtensionRequested::descriptor()) {
    *task.mutable_requested_time() = ToProto(occurred);
    task.set_status_before_request(task.status());
    task.set_status(v1::TASK_STATUS_EXTENSION_REQUESTED);
    task.set_requested_minutes(as((v1::ExtensionRequested*)nullptr).minutes());
  } else if (type == v1::ShelvingRequested::descriptor()) {
    *task.mutable_requested_time() = ToProto(occurred);
    task.set_status_before_request(task.status());
    task.set_status(v1::TASK_STATUS_SHELVING_REQUESTED);
  } else if (type == v1::SendBackDecided::descriptor()) {
    const auto& e = as((v1::SendBackDecided*)nullptr);
    task.set_status(e.approved() ? v1::TASK_STATUS_SENT_BACK
                                 : task.status_before_request());
  } else if (type == v1::ExtensionDecided::descriptor()) {
    const auto& e = as((v1::ExtensionDecided*)nullptr);
    task.set_status(task.status_before_request());
    if (e.approved()) {
      task.set_extensions(task.extensions() + 1);
      task.set_extended_minutes(task.extended_minutes() +
                                task.requested_minutes());
      *task.mutable_due_time() = e.due_time();
      *task.mutable_yellow_time() = e.yellow_time();
      // A new schedule: its yellow warning may fire again.
      task.set_yellow_fired(false);
    }
    task.set_requested_minutes(0);
  } else if (type == v1::ShelvingDecided::descriptor()) {
    const auto& e = as((v1::ShelvingDecided*)nullptr);
    if (e.approved()) {
      task.set_status(v1::TASK_STATUS_SHELVED);
      task.set_remaining_seconds(e.remaining_seconds());
      task.set_remaining_to_yellow_seconds(e.remaining_to_yellow_seconds());
    } else {
      task.set_status(task.status_before_request());
    }
  } else if (type == v1::TaskRestored::descriptor()) {
    const auto& e = as((v1::TaskRestored*)nullptr);
    task.set_status(e.not_yet_accepted() ? v1::TASK_STATUS_DISPATCHED
                                         : v1::TASK_STATUS_ACCEPTED);
    *task.mutable_due_time() = e.due_time();
    *task.mutable_yellow_time() = e.yellow_time();
    task.set_remaining_seconds(0);
    task.set_remaining_to_yellow_seconds(0);
  } else if (type == v1::TaskHandled::descriptor()) {
    task.set_status(v1::TASK_STATUS_HANDLED);
  } else if (type == v1::TaskYellowWarning::descriptor()) {
    task.set_yellow_fired(true);
  } else if (type == v1::TaskOverdue::descriptor()) {
    task.set_overdue(true);
    task.set_yellow_fired(true);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("a task has no event ", type->full_name()));
  }
  task.set_version(task.version() + 1);
  *task.mutable_updated_time() = ToProto(occurred);
  return absl::OkStatus();
}

absl::Status Evolve(v1::TaskRecord& task,
                    const common::v1::EventEnvelope& envelope) {
  if (!absl::StartsWith(envelope.event_type(), "wangge.dispatch.v1.")) {
    return absl::InvalidArgumentError(
        absl::StrCat("a task has no event ", envelope.event_type()));
  }
  ASSIGN_OR_RETURN(auto event, domain::Unpack(envelope));
  return Evolve(task, *event, FromProto(envelope.occurred_time()));
}

v1::Task TaskView(const v1::TaskRecord& task, absl::Time now) {
  const auto& d = task.dispatched();
  v1::Task t;
  t.set_task_id(d.task_id());
  t.set_case_id(d.case_id());
  t.set_department(d.department());
  t.set_status(static_cast<v1::TaskStatus>(task.status()));
  *t.mutable_dispatched_time() = d.dispatched_time();
  *t.mutable_due_time() = task.due_time();
  *t.mutable_yellow_time() = task.yellow_time();
  t.set_overdue(task.overdue());
  t.set_area_code(d.area_code());
  t.set_category_code(d.category_code());
  t.set_rework_count(d.rework_count());
  t.set_urgency(d.urgency());
  if (task.overdue() ||
      (ClockRuns(task) && now >= FromProto(task.due_time()))) {
    t.set_colour(v1::STAGE_COLOUR_RED);
  } else if (ClockRuns(task) && now >= FromProto(task.yellow_time())) {
    t.set_colour(v1::STAGE_COLOUR_YELLOW);
  } else {
    t.set_colour(v1::STAGE_COLOUR_GREEN);
  }
  return t;
}

}  // namespace wangge::dispatch
