#include "services/supervision/domain/case.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/evidence.h"
#include "services/common/domain/ids.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"
#include "services/registry/domain/policy.h"

namespace wangge::supervision {
namespace {

using common::v1::Actor;
using status::InvalidField;
using status::PermissionDenied;

std::string StatusName(int status) {
  return v1::CaseStatus_Name(static_cast<v1::CaseStatus>(status));
}

absl::Status WrongState(const v1::CaseRecord& c, const char* action) {
  return absl::FailedPreconditionError(
      absl::StrCat("cannot ", action, " case ", c.opened().case_id(),
                   " in state ", StatusName(c.status())));
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list,
              const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// A supervisor acts on the tasks of their own area (the registry's staff
// in post when the task was set; an empty list means nobody was in post,
// and any supervisor may take it).
absl::Status AssignedSupervisor(
    const google::protobuf::RepeatedPtrField<std::string>& assignees,
    const Actor& actor) {
  if (actor.role() != common::v1::ROLE_SUPERVISOR) {
    return PermissionDenied("supervisor_only", "only supervisors do this");
  }
  if (!assignees.empty() && !Contains(assignees, actor.subject())) {
    return PermissionDenied(
        "supervisor_of_area",
        absl::StrCat(actor.subject(), " is not a supervisor of this area"));
  }
  return absl::OkStatus();
}

absl::Status ShiftLeader(const Actor& actor) {
  if (actor.role() != common::v1::ROLE_SHIFT_LEADER) {
    return PermissionDenied("shift_leader_only",
                            "only the supervision centre's shift leader");
  }
  return absl::OkStatus();
}

const std::string& Id(const v1::CaseRecord& c) { return c.opened().case_id(); }

std::vector<std::string> Supervisors(const registry::RegistryState& registry,
                                     const std::string& area, absl::Time t) {
  std::vector<std::string> out;
  for (const auto& s : registry::StaffOf(registry, area, "supervisor", t))
    out.push_back(s.staff_id());
  return out;
}

// The department a person belongs to: the token's (handlers), else the
// registry's staff record in post at `t`.
std::string DepartmentOf(const registry::RegistryState& registry,
                         const Actor& actor, absl::Time t) {
  if (!actor.department().empty()) return actor.department();
  auto it = registry.staff.find(actor.subject());
  if (it == registry.staff.end()) return "";
  std::string department;
  for (const auto& a : it->second) {
    if (FromProto(a.start_time()) <= t &&
        (!a.has_end_time() || t < FromProto(a.end_time()))) {
      department = a.department();
    }
  }
  return department;
}

}  // namespace

std::string CaseStream(const std::string& case_id) {
  return absl::StrCat("case/", case_id);
}

absl::StatusOr<Emitted> DecideOpen(const registry::RegistryState& registry,
                                   const SupervisionPolicy& policy,
                                   const intake::v1::ReportReceived& report,
                                   absl::Time now) {
  if (report.case_id().empty()) return InvalidField("case_id", "required");
  v1::CaseOpened e;
  e.set_case_id(report.case_id());
  e.set_source(report.source());
  e.set_category_code(report.category_code());
  e.set_area_code(report.area_code());
  e.set_component_id(report.component_id());
  e.set_reporter_subject(report.reporter_subject());
  *e.mutable_reported_time() = report.received_time();
  for (const auto& d : report.possible_duplicates())
    e.add_possible_duplicates(d);
  // Supervisors' own reports are verified by being made (policy per source).
  const bool verify = report.source() != intake::v1::REPORT_SOURCE_SUPERVISOR;
  e.set_needs_verification(verify);
  if (verify) {
    *e.mutable_verification_due_time() = ToProto(now + policy.verify_within);
  }
  for (auto& s : Supervisors(registry, report.area_code(), now))
    e.add_verification_assignees(s);
  const auto source = report.source();
  e.set_follow_up(!report.reporter_contact_ciphertext().empty() &&
                  (source == intake::v1::REPORT_SOURCE_HOTLINE_12345 ||
                   source == intake::v1::REPORT_SOURCE_PUBLIC_APP ||
                   source == intake::v1::REPORT_SOURCE_GOVERNMENT_SYSTEM ||
                   source == intake::v1::REPORT_SOURCE_MAYOR_MAILBOX));
  std::string stream = CaseStream(e.case_id());
  return domain::Emit(std::move(stream), std::move(e));
}

absl::StatusOr<std::vector<Emitted>> DecideAssignVerification(
    const v1::CaseRecord& c, const Actor& actor,
    const std::string& supervisor_id, const registry::RegistryState& registry,
    const SupervisionPolicy& policy, absl::Time now) {
  if (actor.role() != common::v1::ROLE_RECEPTIONIST) {
    return PermissionDenied("receptionist_only", "only the receptionist");
  }
  if (c.status() != v1::CASE_STATUS_VERIFYING) {
    return WrongState(c, "assign the verification of");
  }
  const auto in_post = Supervisors(registry, c.opened().area_code(), now);
  if (std::find(in_post.begin(), in_post.end(), supervisor_id) ==
      in_post.end()) {
    return InvalidField("supervisor_id",
                        absl::StrCat("not a supervisor in post for area ",
                                     c.opened().area_code()));
  }
  v1::VerificationAssigned e;
  e.set_case_id(Id(c));
  e.set_supervisor_id(supervisor_id);
  e.set_on_time(now <=
                FromProto(c.opened().reported_time()) + policy.assign_within);
  return std::vector<Emitted>{domain::Emit(CaseStream(Id(c)), e)};
}

absl::StatusOr<std::vector<Emitted>> DecideVerify(
    const v1::CaseRecord& c, const Actor& actor, bool confirmed,
    const std::vector<std::string>& evidence, const std::string& note,
    absl::Time now) {
  if (c.status() != v1::CASE_STATUS_VERIFYING) return WrongState(c, "verify");
  RETURN_IF_ERROR(
      AssignedSupervisor(c.opened().verification_assignees(), actor));
  RETURN_IF_ERROR(domain::ValidEvidence(evidence));
  RETURN_IF_ERROR(domain::ValidText("note", note));
  if (!confirmed && note.empty()) {
    return InvalidField("note", "a refuted report needs the reason");
  }
  v1::CaseVerified e;
  e.set_case_id(Id(c));
  e.set_confirmed(confirmed);
  for (const auto& h : evidence) e.add_evidence_sha256(h);
  e.set_note(note);
  e.set_on_time(now <= FromProto(c.opened().verification_due_time()));
  return std::vector<Emitted>{domain::Emit(CaseStream(Id(c)), e)};
}

absl::StatusOr<std::vector<Emitted>> DecideFile(
    const v1::CaseRecord& c, const Actor& actor, v1::Urgency urgency,
    const std::string& filing_criterion,
    const registry::RegistryState& registry, const SupervisionPolicy& rules,
    absl::Time now) {
  RETURN_IF_ERROR(ShiftLeader(actor));
  if (c.status() != v1::CASE_STATUS_AWAITING_FILING)
    return WrongState(c, "file");
  if (c.refuted()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "case ", Id(c), " was refuted on verification: reject or void it"));
  }
  if (urgency == v1::URGENCY_UNSPECIFIED) {
    return InvalidField("urgency", "required");
  }
  const auto* policy = registry::PolicyAt(registry, now);
  if (policy == nullptr) {
    return absl::FailedPreconditionError("no registry policy in force");
  }
  const auto* cls = registry::ClassOf(*policy, c.opened().category_code());
  if (cls == nullptr || !cls->active()) {
    // The command centre could not route it: not filed at all.
    return absl::FailedPreconditionError(
        absl::StrCat("class ", c.opened().category_code(),
                     " is not an active class of policy ", policy->version()));
  }
  if (cls->filing_criteria_size() > 0 &&
      !Contains(cls->filing_criteria(), filing_criterion)) {
    return InvalidField(
        "filing_criterion",
        absl::StrCat("not a filing criterion of ", c.opened().category_code(),
                     " in policy ", policy->version()));
  }
  const std::string level = urgency == v1::URGENCY_EMERGENCY ? "emergency"
                            : urgency == v1::URGENCY_URGENT  ? "urgent"
                                                             : "ordinary";
  // Dispatch could set no deadline: the case would stay filed, unrouted.
  if (!registry::TimeLimitFor(*cls, level)) {
    return InvalidField(
        "urgency", absl::StrCat(c.opened().category_code(), " in policy ",
                                policy->version(), " has no time limit for ",
                                level, " (nor an ordinary one)"));
  }
  v1::CaseFiled e;
  e.set_case_id(Id(c));
  e.set_urgency(level);
  e.set_filing_criterion(filing_criterion);
  e.set_category_code(c.opened().category_code());
  e.set_area_code(c.opened().area_code());
  e.set_component_id(c.opened().component_id());
  const absl::Duration limit = urgency == v1::URGENCY_EMERGENCY
                                   ? rules.file_within_emergency
                                   : rules.file_within;
  e.set_on_time(now <= FromProto(c.awaiting_filing_since()) + limit);
  return std::vector<Emitted>{
      domain::Emit(CaseStream(Id(c)), e, policy->version())};
}

absl::StatusOr<std::vector<Emitted>> DecideReject(
    const v1::CaseRecord& c, const Actor& actor,
    const std::string& reason_code) {
  RETURN_IF_ERROR(ShiftLeader(actor));
  if (c.status() != v1::CASE_STATUS_VERIFYING &&
      c.status() != v1::CASE_STATUS_AWAITING_FILING) {
    return WrongState(c, "reject");
  }
  if (std::find(std::begin(kRejectReasons), std::end(kRejectReasons),
                reason_code) == std::end(kRejectReasons)) {
    return InvalidField("reason_code",
                        "one of out_of_scope, not_in_jurisdiction, "
                        "insufficient_information, already_handled");
  }
  v1::CaseNotAccepted e;
  e.set_case_id(Id(c));
  e.set_reason_code(reason_code);
  return std::vector<Emitted>{domain::Emit(CaseStream(Id(c)), e)};
}

absl::StatusOr<std::vector<Emitted>> DecideVoid(
    const v1::CaseRecord& c, const Actor& actor, const std::string& reason,
    const std::string& duplicate_of, const v1::CaseRecord* survivor) {
  RETURN_IF_ERROR(ShiftLeader(actor));
  if (c.status() != v1::CASE_STATUS_REPORTED &&
      c.status() != v1::CASE_STATUS_VERIFYING &&
      c.status() != v1::CASE_STATUS_AWAITING_FILING) {
    return WrongState(c, "void");
  }
  if (reason.empty()) return InvalidField("reason", "required");
  RETURN_IF_ERROR(domain::ValidText("reason", reason));
  std::vector<Emitted> out;
  v1::CaseVoided e;
  e.set_case_id(Id(c));
  e.set_reason(reason);
  if (!duplicate_of.empty()) {
    if (duplicate_of == Id(c)) {
      return InvalidField("duplicate_of", "a case cannot duplicate itself");
    }
    if (survivor == nullptr) {
      return InvalidField("duplicate_of",
                          absl::StrCat("no case ", duplicate_of));
    }
    if (survivor->status() == v1::CASE_STATUS_VOIDED ||
        survivor->status() == v1::CASE_STATUS_NOT_ACCEPTED) {
      return InvalidField("duplicate_of",
                          absl::StrCat("case ", duplicate_of, " is ",
                                       StatusName(survivor->status())));
    }
    e.set_duplicate_of(duplicate_of);
    v1::DuplicateMerged merged;
    merged.set_case_id(duplicate_of);
    merged.set_duplicate_case_id(Id(c));
    out.push_back(domain::Emit(CaseStream(Id(c)), e));
    out.push_back(domain::Emit(CaseStream(duplicate_of), merged));
    return out;
  }
  out.push_back(domain::Emit(CaseStream(Id(c)), e));
  return out;
}

absl::StatusOr<std::vector<Emitted>> DecideHandlingReported(
    const v1::CaseRecord& c, const dispatch::v1::TaskHandled& handled,
    const registry::RegistryState& registry, const SupervisionPolicy& policy,
    absl::Time now) {
  if (handled.task_id() != c.task_id()) return std::vector<Emitted>{};
  if (c.status() != v1::CASE_STATUS_FILED) return WrongState(c, "check");
  v1::CaseHandlingReported e;
  e.set_case_id(Id(c));
  e.set_task_id(handled.task_id());
  e.set_department(handled.department());
  e.set_handler_subject(handled.handler_subject());
  e.set_result(handled.result());
  *e.mutable_evidence_sha256() = handled.evidence_sha256();
  *e.mutable_check_due_time() = ToProto(now + policy.check_within);
  for (auto& s : Supervisors(registry, c.opened().area_code(), now))
    e.add_check_assignees(s);
  return std::vector<Emitted>{domain::Emit(CaseStream(Id(c)), e)};
}

absl::StatusOr<std::vector<Emitted>> DecideCheck(
    const v1::CaseRecord& c, const Actor& actor, bool passed,
    const std::vector<std::string>& evidence, const std::string& note,
    const registry::RegistryState& registry, absl::Time now) {
  if (c.status() != v1::CASE_STATUS_HANDLED) return WrongState(c, "check");
  // The one who handles a case never judges it.
  const auto& h = c.handling();
  if (actor.subject() == h.handler_subject()) {
    return PermissionDenied("checker_is_handler",
                            "the handler cannot check their own work");
  }
  const std::string department = DepartmentOf(registry, actor, now);
  if (!department.empty() && department == h.department()) {
    return PermissionDenied(
        "checker_of_handling_department",
        absl::StrCat("the checker belongs to ", department,
                     ", the department that handled the case"));
  }
  if (actor.subject() == c.opened().reporter_subject()) {
    return PermissionDenied("checker_is_reporter",
                            "the reporter cannot check the case");
  }
  RETURN_IF_ERROR(AssignedSupervisor(h.check_assignees(), actor));
  RETURN_IF_ERROR(domain::ValidEvidence(evidence));
  RETURN_IF_ERROR(domain::ValidText("note", note));
  if (!passed && note.empty()) {
    return InvalidField("note", "a failed check needs what is wrong");
  }
  v1::CaseChecked e;
  e.set_case_id(Id(c));
  e.set_task_id(h.task_id());
  e.set_passed(passed);
  for (const auto& x : evidence) e.add_evidence_sha256(x);
  e.set_note(note);
  e.set_on_time(now <= FromProto(h.check_due_time()));
  std::vector<Emitted> out{domain::Emit(CaseStream(Id(c)), e)};
  if (!passed) {
    v1::CaseReworkOrdered rework;
    rework.set_case_id(Id(c));
    rework.set_department(h.department());
    rework.set_rework_count(c.rework_count() + 1);
    out.push_back(domain::Emit(CaseStream(Id(c)), rework));
  }
  return out;
}

absl::StatusOr<std::vector<Emitted>> DecideClose(const v1::CaseRecord& c,
                                                 const Actor& actor,
                                                 v1::ClosingType type) {
  RETURN_IF_ERROR(ShiftLeader(actor));
  if (c.status() != v1::CASE_STATUS_CHECK_PASSED) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot close case ", Id(c), " in state ", StatusName(c.status()),
        ": a close needs a passing check first"));
  }
  if (type == v1::CLOSING_TYPE_UNSPECIFIED) {
    return InvalidField("closing_type", "required");
  }
  if (c.overdue() && type == v1::CLOSING_TYPE_NORMAL) {
    return InvalidField("closing_type",
                        "the case went overdue: close it as overdue, in "
                        "error or special");
  }
  if (!c.overdue() && type == v1::CLOSING_TYPE_OVERDUE) {
    return InvalidField("closing_type", "the case never went overdue");
  }
  v1::CaseClosed e;
  e.set_case_id(Id(c));
  e.set_closing_type(type);
  e.set_department(c.department());
  e.set_overdue(c.overdue());
  return std::vector<Emitted>{domain::Emit(CaseStream(Id(c)), e)};
}

absl::StatusOr<std::vector<Emitted>> DecideFollowUp(
    const v1::CaseRecord& c, const Actor& actor, v1::Satisfaction satisfaction,
    bool solved, const std::string& note, const SupervisionPolicy& policy) {
  if (actor.role() != common::v1::ROLE_FOLLOW_UP_AGENT) {
    return PermissionDenied("follow_up_agent_only", "only follow-up agents");
  }
  if (c.status() != v1::CASE_STATUS_CLOSED) return WrongState(c, "follow up");
  RETURN_IF_ERROR(domain::ValidText("note", note));
  if (!c.opened().follow_up()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "case ", Id(c), " was not reported through a channel with a contact"));
  }
  if (c.followed_up()) {
    return absl::FailedPreconditionError(
        absl::StrCat("case ", Id(c), " was already followed up"));
  }
  if (!Contains(c.contact_revealed_to(), actor.subject())) {
    return absl::FailedPreconditionError(
        "read the reporter's contact through intake's RevealReporterContact "
        "first (the audited access)");
  }
  if (satisfaction == v1::SATISFACTION_UNSPECIFIED) {
    return InvalidField("satisfaction", "required");
  }
  v1::FollowUpRecorded e;
  e.set_case_id(Id(c));
  e.set_satisfaction(satisfaction);
  e.set_solved(solved);
  e.set_note(note);
  std::vector<Emitted> out{domain::Emit(CaseStream(Id(c)), e)};
  if (policy.reopen_on_unsatisfied &&
      satisfaction == v1::SATISFACTION_UNSATISFIED && !solved) {
    v1::CaseReopened reopened;
    reopened.set_case_id(Id(c));
    reopened.set_department(c.department());
    reopened.set_reason("unsatisfied follow-up, not solved");
    out.push_back(domain::Emit(CaseStream(Id(c)), reopened));
  }
  return out;
}

std::string CaseIdOf(const google::protobuf::Message& event) {
  const auto* field = event.GetDescriptor()->FindFieldByName("case_id");
  if (field == nullptr ||
      field->type() != google::protobuf::FieldDescriptor::TYPE_STRING) {
    return "";
  }
  return event.GetReflection()->GetString(event, field);
}

absl::StatusOr<bool> Evolve(v1::CaseRecord& c,
                            const google::protobuf::Message& event,
                            absl::Time occurred) {
  const auto* type = event.GetDescriptor();
  auto as = [&](auto* prototype) -> const auto& {
    return static_cast<const std::remove_pointer_t<decltype(prototype)>&>(
        event);
  };
  if (type == v1::CaseOpened::descriptor()) {
    const auto& e = as((v1::CaseOpened*)nullptr);
    c.Clear();
    *c.mutable_opened() = e;
    c.set_status(e.needs_verification() ? v1::CASE_STATUS_VERIFYING
                                        : v1::CASE_STATUS_AWAITING_FILING);
    if (!e.needs_verification()) {
      *c.mutable_awaiting_filing_since() = ToProto(occurred);
    }
  } else if (type == v1::VerificationAssigned::descriptor()) {
    auto* assignees = c.mutable_opened()->mutable_verification_assignees();
    assignees->Clear();
    *assignees->Add() = as((v1::VerificationAssigned*)nullptr).supervisor_id();
  } else if (type == v1::CaseVerified::descriptor()) {
    c.set_status(v1::CASE_STATUS_AWAITING_FILING);
    *c.mutable_awaiting_filing_since() = ToProto(occurred);
    c.set_refuted(!as((v1::CaseVerified*)nullptr).confirmed());
  } else if (type == v1::CaseFiled::descriptor()) {
    c.set_status(v1::CASE_STATUS_FILED);
    c.set_urgency(as((v1::CaseFiled*)nullptr).urgency());
  } else if (type == v1::CaseNotAccepted::descriptor()) {
    c.set_status(v1::CASE_STATUS_NOT_ACCEPTED);
  } else if (type == v1::CaseVoided::descriptor()) {
    c.set_status(v1::CASE_STATUS_VOIDED);
    c.set_duplicate_of(as((v1::CaseVoided*)nullptr).duplicate_of());
  } else if (type == v1::DuplicateMerged::descriptor()) {
    c.add_merged_duplicates(
        as((v1::DuplicateMerged*)nullptr).duplicate_case_id());
  } else if (type == v1::CaseHandlingReported::descriptor()) {
    c.set_status(v1::CASE_STATUS_HANDLED);
    *c.mutable_handling() = as((v1::CaseHandlingReported*)nullptr);
  } else if (type == v1::CaseChecked::descriptor()) {
    c.set_status(as((v1::CaseChecked*)nullptr).passed()
                     ? v1::CASE_STATUS_CHECK_PASSED
                     : v1::CASE_STATUS_FILED);
  } else if (type == v1::CaseReworkOrdered::descriptor()) {
    c.set_rework_count(as((v1::CaseReworkOrdered*)nullptr).rework_count());
    c.set_status(v1::CASE_STATUS_FILED);
  } else if (type == v1::CaseClosed::descriptor()) {
    c.set_status(v1::CASE_STATUS_CLOSED);
    c.set_closing_type(as((v1::CaseClosed*)nullptr).closing_type());
    *c.mutable_closed_time() = ToProto(occurred);
  } else if (type == v1::FollowUpRecorded::descriptor()) {
    c.set_followed_up(true);
  } else if (type == v1::CaseReopened::descriptor()) {
    c.set_status(v1::CASE_STATUS_FILED);
    c.set_reopen_count(c.reopen_count() + 1);
    c.set_followed_up(false);
    *c.mutable_reopened_time() = ToProto(occurred);
  } else if (type == v1::CaseDispatchNoted::descriptor()) {
    const auto& e = as((v1::CaseDispatchNoted*)nullptr);
    c.set_task_id(e.task_id());
    c.set_department(e.department());
    *c.mutable_due_time() = e.due_time();
    if (!Contains(c.departments(), e.department()))
      c.add_departments(e.department());
  } else if (type == v1::CaseDeadlineNoted::descriptor()) {
    *c.mutable_due_time() = as((v1::CaseDeadlineNoted*)nullptr).due_time();
  } else if (type == v1::CaseOverdueNoted::descriptor()) {
    // Overdue once is overdue for the closing type, whatever came after.
    c.set_overdue(true);
  } else if (type == v1::ContactAccessNoted::descriptor()) {
    const auto& e = as((v1::ContactAccessNoted*)nullptr);
    if (!Contains(c.contact_revealed_to(), e.subject()))
      c.add_contact_revealed_to(e.subject());
  } else {
    return false;
  }
  c.set_version(c.version() + 1);
  *c.mutable_updated_time() = ToProto(occurred);
  return true;
}

absl::StatusOr<bool> Evolve(v1::CaseRecord& c,
                            const common::v1::EventEnvelope& envelope) {
  if (!absl::StartsWith(envelope.event_type(), "wangge.supervision.v1.")) {
    return absl::InvalidArgumentError(
        absl::StrCat("a case has no event ", envelope.event_type()));
  }
  ASSIGN_OR_RETURN(auto event, domain::Unpack(envelope));
  return Evolve(c, *event, FromProto(envelope.occurred_time()));
}

absl::StatusOr<std::vector<Emitted>> DecideNote(
    const v1::CaseRecord& c, const google::protobuf::Message& event,
    const common::v1::Actor& actor) {
  std::vector<Emitted> out;
  if (!c.has_opened()) return out;  // not a case supervision has
  const auto* type = event.GetDescriptor();
  const std::string stream = CaseStream(Id(c));
  if (type == dispatch::v1::TaskDispatched::descriptor()) {
    const auto& d = static_cast<const dispatch::v1::TaskDispatched&>(event);
    // Tasks of a case may be read out of order (different partitions):
    // only a later dispatch supersedes the current one.
    if (d.attempt() <= domain::AttemptOfTask(c.task_id())) return out;
    v1::CaseDispatchNoted e;
    e.set_case_id(Id(c));
    e.set_task_id(d.task_id());
    e.set_department(d.department());
    *e.mutable_due_time() = d.due_time();
    e.set_reason(d.reason());
    out.push_back(domain::Emit(stream, e));
  } else if (type == dispatch::v1::ExtensionDecided::descriptor() ||
             type == dispatch::v1::TaskRestored::descriptor()) {
    const bool extension = type == dispatch::v1::ExtensionDecided::descriptor();
    const auto* x =
        extension ? &static_cast<const dispatch::v1::ExtensionDecided&>(event)
                  : nullptr;
    const auto* r =
        extension ? nullptr
                  : &static_cast<const dispatch::v1::TaskRestored&>(event);
    const std::string& task = extension ? x->task_id() : r->task_id();
    if (task != c.task_id() || (extension && !x->approved())) return out;
    v1::CaseDeadlineNoted e;
    e.set_case_id(Id(c));
    e.set_task_id(task);
    *e.mutable_due_time() = extension ? x->due_time() : r->due_time();
    out.push_back(domain::Emit(stream, e));
  } else if (type == dispatch::v1::TaskOverdue::descriptor()) {
    const auto& o = static_cast<const dispatch::v1::TaskOverdue&>(event);
    // Any task of the case, whatever the order its partitions are read in:
    // a task overdue before a send-back or rework moved the case on made the
    // case overdue (noting only the current task's made the closing type
    // depend on which partition was read first).
    if (!absl::StartsWith(o.task_id(), absl::StrCat("task/", Id(c), "/")) ||
        c.overdue()) {
      return out;
    }
    v1::CaseOverdueNoted e;
    e.set_case_id(Id(c));
    e.set_task_id(o.task_id());
    *e.mutable_due_time() = o.due_time();
    out.push_back(domain::Emit(stream, e));
  } else if (type == intake::v1::ReporterContactRevealed::descriptor()) {
    v1::ContactAccessNoted e;
    e.set_case_id(Id(c));
    e.set_subject(actor.subject());
    out.push_back(domain::Emit(stream, e));
  }
  return out;
}

std::string Open311Status(const v1::CaseRecord& c) {
  switch (c.status()) {
    case v1::CASE_STATUS_CLOSED:
    case v1::CASE_STATUS_NOT_ACCEPTED:
    case v1::CASE_STATUS_VOIDED:
      return "closed";
    default:
      return "open";
  }
}

std::string FixMyStreetStatus(const v1::CaseRecord& c) {
  switch (c.status()) {
    case v1::CASE_STATUS_REPORTED:
      return "confirmed";
    case v1::CASE_STATUS_VERIFYING:
    case v1::CASE_STATUS_AWAITING_FILING:
      return "investigating";
    case v1::CASE_STATUS_FILED:
      if (c.reopen_count() > 0 && c.rework_count() == 0) return "reopened";
      return c.task_id().empty() ? "action scheduled" : "in progress";
    case v1::CASE_STATUS_HANDLED:
    case v1::CASE_STATUS_CHECKING:
    case v1::CASE_STATUS_CHECK_PASSED:
      return "in progress";
    case v1::CASE_STATUS_CLOSED:
      return c.closing_type() == v1::CLOSING_TYPE_IN_ERROR ? "unable to fix"
                                                           : "fixed";
    case v1::CASE_STATUS_NOT_ACCEPTED:
      return "not responsible";
    case v1::CASE_STATUS_VOIDED:
      return c.duplicate_of().empty() ? "closed" : "duplicate";
    default:
      return "confirmed";
  }
}

v1::Case CaseView(const v1::CaseRecord& c) {
  v1::Case v;
  v.set_case_id(Id(c));
  v.set_status(static_cast<v1::CaseStatus>(c.status()));
  v.set_category_code(c.opened().category_code());
  v.set_area_code(c.opened().area_code());
  v.set_department(c.department());
  v.set_urgency(c.urgency() == "emergency" ? v1::URGENCY_EMERGENCY
                : c.urgency() == "urgent"  ? v1::URGENCY_URGENT
                : c.urgency().empty()      ? v1::URGENCY_UNSPECIFIED
                                           : v1::URGENCY_ORDINARY);
  *v.mutable_reported_time() = c.opened().reported_time();
  *v.mutable_updated_time() = c.updated_time();
  if (c.has_due_time()) *v.mutable_due_time() = c.due_time();
  v.set_overdue(c.overdue());
  v.set_rework_count(c.rework_count());
  v.set_task_id(c.task_id());
  v.set_open311_status(Open311Status(c));
  v.set_fixmystreet_status(FixMyStreetStatus(c));
  return v;
}

}  // namespace wangge::supervision
