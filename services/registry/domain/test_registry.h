#ifndef WANGGE_SERVICES_REGISTRY_DOMAIN_TEST_REGISTRY_H_
#define WANGGE_SERVICES_REGISTRY_DOMAIN_TEST_REGISTRY_H_

// A small registry for other services' domain tests: one policy (the
// calendar of policy_test, with the 2024 National Day week and its make-up
// days), three classes, departments, a routing rule, a fallback, and staff
// in one grid. Times are China local (UTC+8).

#include <vector>

#include "absl/time/time.h"
#include "services/registry/domain/registry_state.h"

namespace wangge::registry::testing {

inline constexpr char kGrid[] = "110101001001001";        // a unit grid
inline constexpr char kCommunity[] = "110101001001";      // its community
inline constexpr char kSanitation[] = "dept-sanitation";  // 环卫
inline constexpr char kGreenery[] = "dept-greenery";      // 园林
inline constexpr char kStreetOffice[] = "dept-street";    // 属地兜底
// Classes: exposed rubbish (4 working hours, no extension), greenery care
// (5 working days, extension allowed), missing manhole cover (2 h wall
// clock as an emergency, 4 working hours otherwise).
inline constexpr char kRubbish[] = "event/01/0101";
inline constexpr char kGreeneryCare[] = "event/05/0501";
inline constexpr char kManhole[] = "component/01/0101";

absl::Time Local(int y, int mo, int d, int h, int mi);

// Supervisors sup-1 and sup-2, shift leader lead-1, a sanitation handler
// han-1 (department kSanitation) in post from 2024-01-01.
RegistryState TestRegistry();
std::vector<RegistryEvent> TestRegistryEvents();
// The same as the registry's envelopes (for a RegistryReplica).
std::vector<common::v1::EventEnvelope> TestRegistryEnvelopes();
// Registry events as the registry's envelopes (partition 0, sequences from
// 1), as a follower receives them.
std::vector<common::v1::EventEnvelope> Envelopes(
    const std::vector<RegistryEvent>& events);
// The demo deployment's import (registry::GenerateDemo) as envelopes; the
// number of its areas in `areas` when not null.
std::vector<common::v1::EventEnvelope> DemoEnvelopes(uint64_t seed,
                                                     absl::Time as_of,
                                                     size_t* areas = nullptr);

}  // namespace wangge::registry::testing

#endif  // WANGGE_SERVICES_REGISTRY_DOMAIN_TEST_REGISTRY_H_
