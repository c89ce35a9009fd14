#ifndef WANGGE_SERVICES_SUPERVISION_DOMAIN_CASE_H_
#define WANGGE_SERVICES_SUPERVISION_DOMAIN_CASE_H_

// The supervision centre's domain (监督中心): the case file's state machine
// and the separation rules. Pure: Decide*(state, command) -> events or
// error, Evolve(state, event) -> state; the registry snapshot and the time
// are inputs. The audit tool replays with the same Evolve.
//
//   ReportReceived -> CaseOpened: VERIFYING (核实) unless a supervisor
//     reported it, then AWAITING_FILING
//   VERIFYING --verify--> AWAITING_FILING (refuted: only reject or void)
//   AWAITING_FILING --file--> FILED (立案; the command centre dispatches)
//   VERIFYING|AWAITING_FILING --reject--> NOT_ACCEPTED (不予受理)
//   REPORTED|VERIFYING|AWAITING_FILING --void--> VOIDED (作废)
//   FILED --TaskHandled forwarded--> HANDLED (a check is due)
//   HANDLED --check passed--> CHECK_PASSED --close--> CLOSED (结案)
//   HANDLED --check failed--> FILED (返工: same department, new task)
//   CLOSED --unsatisfied and unsolved follow-up--> FILED (reopened)
//
// Conflict of interest (核查): the checker is never the handler, never of
// the handling department and never the reporter; PERMISSION_DENIED names
// the rule.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/domain/emitted.h"
#include "services/registry/domain/registry_state.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/dispatch/v1/events.pb.h"
#include "wangge/intake/v1/events.pb.h"
#include "wangge/supervision/v1/events.pb.h"
#include "wangge/supervision/v1/supervision.pb.h"

namespace wangge::supervision {

using domain::Emitted;

// Supervision's own time limits and rules (configurable per deployment).
struct SupervisionPolicy {
  absl::Duration verify_within = absl::Minutes(60);  // 核实
  absl::Duration check_within = absl::Minutes(60);   // 核查
  // 立案 after the case is ready to file.
  absl::Duration file_within = absl::Minutes(30);
  absl::Duration file_within_emergency = absl::Minutes(10);
  // 受理员 sends a supervisor within this after the report.
  absl::Duration assign_within = absl::Minutes(10);
  // Unsatisfied and unsolved follow-ups reopen the case (Beijing 12345).
  bool reopen_on_unsatisfied = true;
};

// Reasons a shift leader may give for 不予受理.
inline constexpr const char* kRejectReasons[] = {
    "out_of_scope", "not_in_jurisdiction", "insufficient_information",
    "already_handled"};

std::string CaseStream(const std::string& case_id);

// Opens the case file for a report intake accepted.
absl::StatusOr<Emitted> DecideOpen(const registry::RegistryState& registry,
                                   const SupervisionPolicy& policy,
                                   const intake::v1::ReportReceived& report,
                                   absl::Time now);

// The receptionist names the supervisor (one in post for the case's area)
// who verifies; only they may then.
absl::StatusOr<std::vector<Emitted>> DecideAssignVerification(
    const v1::CaseRecord& c, const common::v1::Actor& actor,
    const std::string& supervisor_id, const registry::RegistryState& registry,
    const SupervisionPolicy& policy, absl::Time now);

absl::StatusOr<std::vector<Emitted>> DecideVerify(
    const v1::CaseRecord& c, const common::v1::Actor& actor, bool confirmed,
    const std::vector<std::string>& evidence, const std::string& note,
    absl::Time now);

// on_time: within policy.file_within(_emergency) of becoming ready to file.
absl::StatusOr<std::vector<Emitted>> DecideFile(
    const v1::CaseRecord& c, const common::v1::Actor& actor,
    v1::Urgency urgency, const std::string& filing_criterion,
    const registry::RegistryState& registry, const SupervisionPolicy& policy,
    absl::Time now);

absl::StatusOr<std::vector<Emitted>> DecideReject(
    const v1::CaseRecord& c, const common::v1::Actor& actor,
    const std::string& reason_code);

// `survivor` is the case it duplicates (null when voided as false).
absl::StatusOr<std::vector<Emitted>> DecideVoid(const v1::CaseRecord& c,
                                                const common::v1::Actor& actor,
                                                const std::string& reason,
                                                const std::string& duplicate_of,
                                                const v1::CaseRecord* survivor);

// The command centre forwarded a department's result. Empty when the task
// is not the case's current one (a late event of a superseded task).
absl::StatusOr<std::vector<Emitted>> DecideHandlingReported(
    const v1::CaseRecord& c, const dispatch::v1::TaskHandled& handled,
    const registry::RegistryState& registry, const SupervisionPolicy& policy,
    absl::Time now);

// 核查. The checker's department comes from the registry's staff record
// (and the token, for a handler).
absl::StatusOr<std::vector<Emitted>> DecideCheck(
    const v1::CaseRecord& c, const common::v1::Actor& actor, bool passed,
    const std::vector<std::string>& evidence, const std::string& note,
    const registry::RegistryState& registry, absl::Time now);

absl::StatusOr<std::vector<Emitted>> DecideClose(const v1::CaseRecord& c,
                                                 const common::v1::Actor& actor,
                                                 v1::ClosingType closing_type);

absl::StatusOr<std::vector<Emitted>> DecideFollowUp(
    const v1::CaseRecord& c, const common::v1::Actor& actor,
    v1::Satisfaction satisfaction, bool solved, const std::string& note,
    const SupervisionPolicy& policy);

// What another service's event tells the case, as supervision's own
// event in the case's stream: dispatch's TaskDispatched, approved
// ExtensionDecided, TaskRestored, TaskOverdue (of the current task);
// intake's ReporterContactRevealed (by `actor`). Empty when it says nothing
// the case keeps. (TaskHandled goes through DecideHandlingReported.)
absl::StatusOr<std::vector<Emitted>> DecideNote(
    const v1::CaseRecord& c, const google::protobuf::Message& event,
    const common::v1::Actor& actor);

// Folds one of supervision's events into the case. Returns false for a
// type that says nothing about a case.
absl::StatusOr<bool> Evolve(v1::CaseRecord& c,
                            const google::protobuf::Message& event,
                            absl::Time occurred);
absl::StatusOr<bool> Evolve(v1::CaseRecord& c,
                            const common::v1::EventEnvelope& envelope);

// The case id an event of any service is about ("" if none).
std::string CaseIdOf(const google::protobuf::Message& event);

// What GetCase answers, with the Open311 and FixMyStreet statuses.
v1::Case CaseView(const v1::CaseRecord& c);
std::string Open311Status(const v1::CaseRecord& c);
std::string FixMyStreetStatus(const v1::CaseRecord& c);

}  // namespace wangge::supervision

#endif  // WANGGE_SERVICES_SUPERVISION_DOMAIN_CASE_H_
