#ifndef WANGGE_SERVICES_REGISTRY_DOMAIN_REGISTRY_STATE_H_
#define WANGGE_SERVICES_REGISTRY_DOMAIN_REGISTRY_STATE_H_

// The registry's state, rebuilt from its events by Evolve (the same function
// the audit tool replays with), and the pure decisions that produce those
// events. No I/O here: the service shell loads, decides, appends.
//
// Every area keeps its history: versions of its boundary with [from, to)
// effective times, so any past moment can be reconstructed ("which area
// contained this point on 2025-03-01").

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/registry/domain/geometry.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/registry/v1/events.pb.h"

namespace wangge::registry {

struct AreaVersion {
  absl::Time from;
  absl::Time to = absl::InfiniteFuture();
  // Null in a state that does not keep boundaries (keep_boundaries).
  std::shared_ptr<const Boundary> boundary;
};

struct Area {
  std::string code;
  std::string parent_code;
  std::string level;
  std::string name;
  bool dedicated = false;
  uint32_t households = 0;
  uint32_t population = 0;
  // Position of the level in the deployment's list (0 at the top).
  int depth = 0;
  absl::Time created;
  absl::Time retired = absl::InfiniteFuture();
  std::vector<AreaVersion> versions;  // by `from`, contiguous

  bool ActiveAt(absl::Time t) const { return created <= t && t < retired; }
  // The boundary in force at `t`, or null.
  const AreaVersion* VersionAt(absl::Time t) const;
};

struct RegistryState {
  // Whether Evolve keeps each area's boundary. Copies for services that
  // never look at geometry (supervision, dispatch, oversight) leave them
  // out: on a Chengdu-sized city they are most of the state's memory, and
  // their parsing most of its replay. Versions keep their times either way.
  bool keep_boundaries = true;
  std::optional<v1::DeploymentConfigured> deployment;
  // Policy versions by effective time (ascending).
  std::vector<v1::PolicyPublished> policies;
  absl::flat_hash_map<std::string, v1::ComponentRegistered> components;
  // Every assignment of each staff member, in order.
  absl::flat_hash_map<std::string, std::vector<v1::StaffAssigned>> staff;
  // Staff ids by every area code one of their assignments ever named: who
  // serves an area is found from its code's prefixes, not by walking every
  // staff member (a Chengdu-sized city has ~101,000, and supervision asks
  // for an area's supervisors at every report and every handled task).
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>
      staff_by_area;
  absl::flat_hash_map<std::string, v1::AreaLevel> levels;  // by name
  absl::flat_hash_map<std::string, Area> areas;            // by code
  absl::flat_hash_map<std::string, std::vector<std::string>> children;
  uint64_t applied = 0;  // events applied; the registry's policy version

  const Area* Find(const std::string& code) const;
};

using RegistryEvent =
    std::variant<v1::DeploymentConfigured, v1::AreaCreated, v1::AreaRedrawn,
                 v1::AreaRetired, v1::PolicyPublished, v1::ComponentRegistered,
                 v1::StaffAssigned>;

// The row of the registry's "areas" projection for an area (what
// GetStateDigest hashes; the audit tool's replay computes the same).
std::string AreaProjectionRow(const Area& area);

// The deployment's stream. Its events (the level tables) are applied before
// any other when history is replayed: areas need their levels.
inline constexpr char kDeploymentStream[] = "deployment";

// The stream an event belongs to: kDeploymentStream or "area/<code>".
std::string StreamOf(const RegistryEvent& event);
const google::protobuf::Message& PayloadOf(const RegistryEvent& event);

absl::Status Evolve(RegistryState& state, const RegistryEvent& event);
// From a stored envelope (type + payload); other types are refused.
// Replay order: the "deployment" stream first, then every area's stream in
// its own order; areas need not come in any order among themselves.
absl::Status Evolve(RegistryState& state,
                    const wangge::common::v1::EventEnvelope& envelope);

// Commands.
struct CreateArea {
  std::string code;
  std::string parent_code;
  std::string level;
  std::string name;
  std::string boundary_geojson;
  uint32_t households = 0;
  uint32_t population = 0;
  absl::Time effective_time;
};

absl::StatusOr<RegistryEvent> DecideConfigureDeployment(
    const RegistryState& state, const v1::DeploymentConfigured& deployment);
absl::StatusOr<RegistryEvent> DecideCreateArea(const RegistryState& state,
                                               const CreateArea& command);
absl::StatusOr<RegistryEvent> DecideRedrawArea(const RegistryState& state,
                                               const std::string& code,
                                               const std::string& geojson,
                                               absl::Time effective_time);
absl::StatusOr<RegistryEvent> DecideRetireArea(const RegistryState& state,
                                               const std::string& code,
                                               absl::Time effective_time);
// Retires `code` and creates `parts` in its place (same parent and level).
absl::StatusOr<std::vector<RegistryEvent>> DecideSplitArea(
    const RegistryState& state, const std::string& code,
    const std::vector<CreateArea>& parts, absl::Time effective_time);
// Retires `codes` and creates `merged` in their place.
absl::StatusOr<std::vector<RegistryEvent>> DecideMergeAreas(
    const RegistryState& state, const std::vector<std::string>& codes,
    const CreateArea& merged, absl::Time effective_time);

// The largest deployment JSON a gzipped import or export is inflated to
// (the registry's ImportDeployment, the CLI's export): a Chengdu-sized city
// is ~77 MB.
inline constexpr size_t kMaxDeploymentJsonBytes = size_t{1} << 30;

// A whole deployment: its levels and areas (parents before children), and
// optionally its policy, components and staff.
struct Deployment {
  v1::DeploymentConfigured config;
  std::vector<CreateArea> areas;
  std::optional<v1::PolicyPublished> policy;
  std::vector<v1::ComponentRegistered> components;
  std::vector<v1::StaffAssigned> staff;
};
// The deployment as it stood at `t`: areas in force (parents first, with
// their boundary then), the policy in force, components and staff in post.
Deployment ExportDeployment(const RegistryState& state, absl::Time t);

// All the events of an import, or the first error, its field prefixed with
// the area's position ("areas[12].boundary"). Nothing is decided partially.
absl::StatusOr<std::vector<RegistryEvent>> DecideImport(
    const RegistryState& state, const Deployment& deployment);

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_DOMAIN_REGISTRY_STATE_H_
