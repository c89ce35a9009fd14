#ifndef WANGGE_SERVICES_OVERSIGHT_DOMAIN_RED_LINE_H_
#define WANGGE_SERVICES_OVERSIGHT_DOMAIN_RED_LINE_H_

// Party-member oversight along the one red line (一根红线), pure: the line
// (organisations and overseers with their history), coverage, notices (督办)
// raised by the workflow's events, their escalation up the line, and small
// wishes (微心愿). Decide*(state, command) -> events or error; Evolve(state,
// event) -> state. Oversight never decides anything about a case: its
// events are its own and change no case.
//
// A notice sits with the overseer of an area: first the case's smallest
// area, else the nearest enclosing area with an overseer (the skipped areas
// are a coverage gap, flagged). Not acknowledged within its window, it
// climbs to the next area up with an overseer (micro-grid -> general grid ->
// community general grid -> street; a dedicated grid's parent is its
// community general grid); at the top (the street) it is flagged
// `past_top` and stays. Acknowledging stops the climb; the case's close
// resolves it.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/common/domain/emitted.h"
#include "services/registry/domain/registry_state.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/oversight/v1/events.pb.h"
#include "wangge/oversight/v1/oversight.pb.h"

namespace wangge::oversight {

using domain::Emitted;

struct OversightRules {
  // 督办 must be acknowledged within this, else it climbs the line.
  absl::Duration acknowledge_within = absl::Hours(2);
  uint32_t rework_threshold = 2;     // reworked >= N times
  uint32_t send_back_threshold = 2;  // sent back >= N times
  bool on_overdue = true;
  bool on_unsatisfied = true;
  bool on_emergency_yellow = true;
  // The level at the top of the line (the street party working committee).
  std::string top_level = "street";
  // The red line of the deployment: for each level on the line, the kinds
  // of party organisation whose members oversee it. Chengdu's default
  // (seed 004): the street working committee at the street and, through the
  // cadres it sends down, the community general grid; community party
  // organisations the general grids; building, park or market branches the
  // dedicated grids; resident branches or small groups the micro-grids.
  // Zhoushan puts a small group in every grid; Dongcheng's community and
  // unit grid follow the same pattern.
  std::map<std::string, std::set<int>> line = {
      {"street", {v1::ORGANIZATION_KIND_WORKING_COMMITTEE}},
      {"community_general_grid", {v1::ORGANIZATION_KIND_WORKING_COMMITTEE}},
      {"general_grid",
       {v1::ORGANIZATION_KIND_COMMITTEE, v1::ORGANIZATION_KIND_BRANCH}},
      {"dedicated_grid",
       {v1::ORGANIZATION_KIND_COMMITTEE, v1::ORGANIZATION_KIND_BRANCH}},
      {"micro_grid",
       {v1::ORGANIZATION_KIND_BRANCH, v1::ORGANIZATION_KIND_SMALL_GROUP}},
      {"community",
       {v1::ORGANIZATION_KIND_COMMITTEE, v1::ORGANIZATION_KIND_BRANCH}},
      {"grid",
       {v1::ORGANIZATION_KIND_SMALL_GROUP, v1::ORGANIZATION_KIND_BRANCH}},
      {"unit_grid",
       {v1::ORGANIZATION_KIND_SMALL_GROUP, v1::ORGANIZATION_KIND_BRANCH}}};
};

// "street=working_committee;micro_grid=branch|small_group;...": a
// deployment's red line (replaces the default). INVALID_ARGUMENT naming the
// entry for an unknown kind or a malformed entry.
absl::Status ParseRedLine(const std::string& text, OversightRules* rules);

struct RedLine {
  absl::flat_hash_map<std::string, v1::PartyOrganizationRegistered>
      organizations;
  absl::flat_hash_map<std::string, v1::MemberRecord> members;
  // Member ids by every area one of their assignments ever named: who
  // oversees an area is looked up there, not by walking every member (a
  // Chengdu-wide line has ~114,000 posts, and every notice and every climb
  // asks, as does the coverage report for each area).
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>
      members_by_area;
};

absl::Status Evolve(RedLine& line, const google::protobuf::Message& event);
// A member's record as the members projection keeps it (a service start),
// with its index entries.
void RestoreMember(RedLine& line, const std::string& member_id,
                   v1::MemberRecord record);

absl::StatusOr<Emitted> DecideRegisterOrganization(
    const RedLine& line, const registry::RegistryState& registry,
    const v1::RegisterPartyOrganizationRequest& r);
// The area must be on the line (its level in `rules.line`) and the
// member's organisation of a kind the line names for that level.
absl::StatusOr<Emitted> DecideAssignOverseer(
    const RedLine& line, const registry::RegistryState& registry,
    const OversightRules& rules, const v1::AssignOverseerRequest& r);

struct Overseer {
  std::string member_id;
  std::string organization_id;
};
// Who oversees exactly `area_code` at `t` (the first by member id).
std::optional<Overseer> OverseerOf(const RedLine& line,
                                   const std::string& area_code, absl::Time t);

// Where on the line a notice sits, starting at `area_code` (or its parent
// when `start_above`).
struct LinePosition {
  std::string area_code;
  Overseer overseer;  // empty: nobody up to the top
  std::vector<std::string> skipped;
  bool past_top = false;
};
LinePosition FindOnLine(const RedLine& line,
                        const registry::RegistryState& registry,
                        const std::string& area_code, bool start_above,
                        const OversightRules& rules, absl::Time t);

// Areas on the line (the top level and below) under `scope`, in force at
// `t`, without an overseer; and overseers whose area was retired or
// redrawn after their assignment began.
v1::Coverage CoverageOf(const RedLine& line,
                        const registry::RegistryState& registry,
                        const OversightRules& rules, const std::string& scope,
                        absl::Time t);

// A trigger: what happened to which case. `key` makes the notice id (one
// notice per trigger): "overdue/<task>", "rework/<n>", ...
struct Trigger {
  std::string case_id;
  std::string task_id;
  std::string kind;
  std::string key;
  std::string case_area_code;
};
std::string NoticeId(const Trigger& trigger);
// A trigger that only a closed case can have (an unsatisfied follow-up): its
// notice is raised, and climbs, although the case is closed. Others are
// resolved by the close.
inline bool ComesAfterClose(const std::string& kind) {
  return kind == "unsatisfied";
}

absl::StatusOr<Emitted> DecideRaise(const RedLine& line,
                                    const registry::RegistryState& registry,
                                    const Trigger& trigger,
                                    const OversightRules& rules,
                                    absl::Time now);
// Empty unless the notice is open, unacknowledged and past its window.
std::vector<Emitted> DecideEscalate(const v1::NoticeRecord& notice,
                                    const RedLine& line,
                                    const registry::RegistryState& registry,
                                    const OversightRules& rules,
                                    absl::Time now);
// Only the notice's current holder acknowledges, acts and resolves it
// (PERMISSION_DENIED "notice_holder_only").
absl::StatusOr<std::vector<Emitted>> DecideAcknowledge(
    const v1::NoticeRecord& notice, const common::v1::Actor& actor,
    absl::Time now);
absl::StatusOr<std::vector<Emitted>> DecideRecordAction(
    const v1::NoticeRecord& notice, const common::v1::Actor& actor,
    const v1::NoticeActionRequest& r, absl::Time now);
absl::StatusOr<std::vector<Emitted>> DecideResolve(
    const v1::NoticeRecord& notice, const common::v1::Actor& actor,
    const std::string& note);
// The case closed: every open notice of it resolves itself.
std::vector<Emitted> DecideCaseClosed(const v1::NoticeRecord& notice);
// The department reported `task_id` handled: a notice raised for that task
// (its overdue, an emergency's yellow stage) has nothing left to push and
// resolves itself instead of climbing on. Notices of the case (rework,
// send-backs, dissatisfaction) stay.
std::vector<Emitted> DecideTaskHandled(const v1::NoticeRecord& notice,
                                       const std::string& task_id);

absl::Status Evolve(v1::NoticeRecord& notice,
                    const google::protobuf::Message& event,
                    absl::Time occurred);
// When the notice's escalation timer is due, or InfiniteFuture.
absl::Time EscalationDue(const v1::NoticeRecord& notice);
v1::Notice NoticeView(const v1::NoticeRecord& notice);

// 微心愿.
absl::StatusOr<Emitted> DecideRecordWish(const std::string& wish_id,
                                         const v1::RecordSmallWishRequest& r);
absl::StatusOr<std::vector<Emitted>> DecideClaimWish(
    const v1::SmallWishRecord& wish, const RedLine& line,
    const common::v1::Actor& actor, absl::Time now);
absl::StatusOr<std::vector<Emitted>> DecideFulfilWish(
    const v1::SmallWishRecord& wish, const common::v1::Actor& actor,
    const std::string& note);
absl::Status Evolve(v1::SmallWishRecord& wish,
                    const google::protobuf::Message& event);

// Participation facts an event yields: (kind, member or organisation id).
// Kinds: "received", "acknowledged_in_time", "escalated_past", "action",
// "wish_fulfilled", "case_needing_oversight" (keyed by the street).
struct ParticipationFact {
  std::string kind;
  std::string subject;
};
std::vector<ParticipationFact> ParticipationOf(
    const v1::NoticeRecord& before, const google::protobuf::Message& event,
    const registry::RegistryState& registry, const OversightRules& rules);

}  // namespace wangge::oversight

#endif  // WANGGE_SERVICES_OVERSIGHT_DOMAIN_RED_LINE_H_
