#include "services/audit/separation.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/emitted.h"
#include "wangge/dispatch/v1/events.pb.h"
#include "wangge/supervision/v1/events.pb.h"

namespace wangge::audit {
namespace {

using common::v1::Role;

std::string RoleName(Role r) { return common::v1::Role_Name(r); }

}  // namespace

void SeparationChecker::Flag(const common::v1::EventEnvelope& e,
                             const std::string& rule,
                             const std::string& message) {
  violations_.push_back(
      ViolationAt(e, absl::StrCat("separation:", rule), message));
}

void SeparationChecker::Add(const common::v1::EventEnvelope& e) {
  const std::string& type = e.event_type();
  const bool supervision = absl::StartsWith(type, "wangge.supervision.v1.");
  const bool dispatch = absl::StartsWith(type, "wangge.dispatch.v1.");
  // Oversight watches and prods; it never writes a case or a task.
  if (e.source_service() == "oversight" &&
      (absl::StartsWith(e.stream_id(), "case/") ||
       absl::StartsWith(e.stream_id(), "task/"))) {
    Flag(e, "oversight_changes_case", "an oversight event on a case's stream");
  }
  if (!supervision && !dispatch) return;
  auto event = domain::Unpack(e);
  if (!event.ok()) {
    Flag(e, "unreadable", std::string(event.status().message()));
    return;
  }
  const auto* d = (*event)->GetDescriptor();
  const auto& actor = e.actor();
  auto as = [&](auto* prototype) -> const auto& {
    return static_cast<const std::remove_pointer_t<decltype(prototype)>&>(
        **event);
  };
  auto expect_role = [&](Role role, const char* what) {
    if (actor.role() != role) {
      Flag(e, "role",
           absl::StrCat(what, " by ", RoleName(actor.role()), " ",
                        actor.subject(), ", not by a ", RoleName(role)));
    }
  };
  if (supervision) {
    const std::string case_id = e.stream_id().substr(5);  // "case/"
    CaseFile& c = cases_[case_id];
    if (d == supervision::v1::CaseOpened::descriptor()) {
      c.reporter = as((supervision::v1::CaseOpened*)nullptr).reporter_subject();
    } else if (d == supervision::v1::CaseVerified::descriptor()) {
      expect_role(common::v1::ROLE_SUPERVISOR, "verification");
    } else if (d == supervision::v1::CaseFiled::descriptor()) {
      expect_role(common::v1::ROLE_SHIFT_LEADER, "filing");
      filed_.emplace(case_id, FromProto(e.occurred_time()));
    } else if (d == supervision::v1::CaseHandlingReported::descriptor()) {
      const auto& h = as((supervision::v1::CaseHandlingReported*)nullptr);
      c.handler = h.handler_subject();
      c.handling_department = h.department();
      c.handled = true;
      c.check_passed = false;
    } else if (d == supervision::v1::CaseChecked::descriptor()) {
      expect_role(common::v1::ROLE_SUPERVISOR, "check");
      if (!c.handled) Flag(e, "check_without_result", "nothing to check");
      if (actor.subject() == c.handler) {
        Flag(e, "checker_is_handler", actor.subject());
      }
      if (!actor.department().empty() &&
          actor.department() == c.handling_department) {
        Flag(e, "checker_of_handling_department", actor.department());
      }
      if (actor.subject() == c.reporter) {
        Flag(e, "checker_is_reporter", actor.subject());
      }
      c.check_passed = as((supervision::v1::CaseChecked*)nullptr).passed();
      c.handled = false;
    } else if (d == supervision::v1::CaseClosed::descriptor()) {
      expect_role(common::v1::ROLE_SHIFT_LEADER, "close");
      if (!c.check_passed) {
        Flag(e, "close_without_passing_check",
             "no passing check after the last result");
      }
      c.check_passed = false;
    }
    return;
  }
  // Dispatch.
  if (d == dispatch::v1::TaskDispatched::descriptor()) {
    const auto& t = as((dispatch::v1::TaskDispatched*)nullptr);
    task_department_[t.task_id()] = t.department();
    if (actor.role() != common::v1::ROLE_SERVICE_DISPATCH &&
        actor.role() != common::v1::ROLE_DISPATCHER) {
      Flag(e, "dispatch_by_command_centre",
           absl::StrCat("dispatched by ", RoleName(actor.role()), " ",
                        actor.subject()));
    }
    Dispatch x;
    x.case_id = t.case_id();
    x.time = FromProto(e.occurred_time());
    x.where.service = e.source_service();
    x.where.partition = e.partition();
    x.where.sequence = e.sequence();
    x.where.message = e.stream_id();
    dispatches_.push_back(std::move(x));
  } else if (d == dispatch::v1::SendBackDecided::descriptor() ||
             d == dispatch::v1::ExtensionDecided::descriptor() ||
             d == dispatch::v1::ShelvingDecided::descriptor() ||
             d == dispatch::v1::TaskRestored::descriptor()) {
    expect_role(common::v1::ROLE_DISPATCHER, "ruling");
  } else if (d == dispatch::v1::TaskAccepted::descriptor() ||
             d == dispatch::v1::SendBackRequested::descriptor() ||
             d == dispatch::v1::ExtensionRequested::descriptor() ||
             d == dispatch::v1::ShelvingRequested::descriptor() ||
             d == dispatch::v1::TaskHandled::descriptor()) {
    expect_role(common::v1::ROLE_DEPARTMENT_HANDLER, "department action");
    auto it = task_department_.find(e.stream_id());
    if (it != task_department_.end() && actor.department() != it->second) {
      Flag(e, "own_department_only",
           absl::StrCat("by ", actor.subject(), " of ", actor.department(),
                        " on a task of ", it->second));
    }
  }
}

std::vector<Violation> SeparationChecker::Finish() {
  for (const auto& x : dispatches_) {
    auto filed = filed_.find(x.case_id);
    if (filed == filed_.end() || filed->second > x.time) {
      Violation v = x.where;
      v.check = "separation:dispatch_after_filing";
      v.message = absl::StrCat(
          x.where.message, ": dispatched without a filing of case ", x.case_id,
          filed == filed_.end() ? " in supervision's log" : " before it");
      violations_.push_back(std::move(v));
    }
  }
  dispatches_.clear();
  return std::move(violations_);
}

}  // namespace wangge::audit
