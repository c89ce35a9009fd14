#ifndef WANGGE_SERVICES_REGISTRY_DOMAIN_POLICY_H_
#define WANGGE_SERVICES_REGISTRY_DOMAIN_POLICY_H_

// Policies (catalogue, calendar, departments, routing, locality fallbacks),
// components (部件) and staff (四定): their decisions and the queries other
// services make: who handles a case, staff of an area, and deadlines in
// business time. Pure, like the rest of the domain.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/registry/domain/registry_state.h"

namespace wangge::registry {

absl::StatusOr<RegistryEvent> DecidePublishPolicy(const RegistryState& state,
                                                  const v1::PolicyPublished& p);
absl::StatusOr<RegistryEvent> DecideRegisterComponent(
    const RegistryState& state, const v1::ComponentRegistered& c);
absl::StatusOr<RegistryEvent> DecideAssignStaff(const RegistryState& state,
                                                const v1::StaffAssigned& s);

// The policy in force at `t`, or null.
const v1::PolicyPublished* PolicyAt(const RegistryState& state, absl::Time t);
const v1::CategoryClass* ClassOf(const v1::PolicyPublished& p,
                                 const std::string& code);

// The time limit a case of class `cls` filed at `urgency` ("ordinary",
// "urgent", "emergency") is dispatched under: the class's limit for that
// urgency, else its ordinary one; null if neither exists (the class does not
// allow that urgency: an emergency-only class filed as ordinary). An
// emergency counts on the wall clock whichever limit it falls back to.
struct AppliedLimit {
  uint32_t minutes = 0;
  bool working_time = false;
};
std::optional<AppliedLimit> TimeLimitFor(const v1::CategoryClass& cls,
                                         const std::string& urgency);

// The category of a 16-character component id ("3205080101000001" ->
// "component/01/0101"; the 6+2+3+5 layout -> "component/01/01080").
// A catalogue class code: "event/05/0505" or "component/01/0101" (a major
// class and a minor class starting with it; 5-digit minors for local
// extensions).
bool IsCategory(const std::string& code);

// The two layouts cannot be told apart by the digits alone ("...0118000001"
// is minor 18 in 6+2+2+6 or minor 180 in 6+2+3+5): with `policy`, the
// catalogue decides (the one class of the two that exists; both existing is
// an ambiguous id, refused); without it, or when neither exists, a 3-digit
// minor of 080 or more is read as the newer layout.
absl::StatusOr<std::string> ComponentCategory(
    const std::string& component_id,
    const v1::PolicyPublished* policy = nullptr);

struct Responsible {
  std::string department_id;
  bool locality_fallback = false;  // 属地兜底: no rule matched
  std::string policy_version;
};

// Who handles `category` in `area_code` at `t`: a named component's owner;
// else the department of the routing rule with the most specific area
// (longest matching prefix), of the department type, serving the area most
// specifically; else the locality fallback of the nearest enclosing area.
absl::StatusOr<Responsible> ResolveDepartment(const RegistryState& state,
                                              const std::string& category,
                                              const std::string& area_code,
                                              const std::string& component_id,
                                              absl::Time t);

// Staff in post at `t` whose areas include `area_code` or enclose it,
// optionally of one role.
std::vector<v1::StaffAssigned> StaffOf(const RegistryState& state,
                                       const std::string& area_code,
                                       const std::string& role, absl::Time t);

// The moment `minutes` of time have passed after `start`: wall-clock, or
// working time of `calendar` (periods of working days; weekends and holidays
// off, make-up days on) in its time zone.
absl::StatusOr<absl::Time> Deadline(const v1::BusinessCalendar& calendar,
                                    absl::Time start, int64_t minutes,
                                    bool working_time);
// The same for a duration (a shelved task's remaining time).
absl::StatusOr<absl::Time> DeadlineAfter(const v1::BusinessCalendar& calendar,
                                         absl::Time start,
                                         absl::Duration amount,
                                         bool working_time);
// The time counted between `from` and `to` (zero if `to` is not later): the
// inverse of DeadlineAfter, used to stop a clock (挂账) and start it again.
absl::StatusOr<absl::Duration> TimeBetween(const v1::BusinessCalendar& calendar,
                                           absl::Time from, absl::Time to,
                                           bool working_time);

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_DOMAIN_POLICY_H_
