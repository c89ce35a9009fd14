#ifndef WANGGE_SERVICES_REGISTRY_APP_DEPLOYMENT_JSON_H_
#define WANGGE_SERVICES_REGISTRY_APP_DEPLOYMENT_JSON_H_

// The deployment import/export format (documented in the registry README):
//
// {
//   "deployment": {"name": "...", "time_zone": "Asia/Shanghai",
//                  "levels": [{"name": "district", "code_length": 6},
//                             {"name": "street", "code_length": 9,
//                              "parent_level": "district"}, ...]},
//   "areas": [{"code": "110101001", "parent_code": "110101",
//              "level": "street", "name": "...",
//              "boundary": {GeoJSON Polygon or MultiPolygon},
//              "households": 0, "population": 0,
//              "effective_time": "2024-01-01T00:00:00Z"}, ...],
//   "policy": {PolicyPublished in protobuf JSON: version, effective_time,
//              classes, calendar, departments, routing, fallbacks},
//   "components": [{ComponentRegistered}, ...],
//   "staff": [{StaffAssigned}, ...]
// }

#include <string>

#include "absl/status/statusor.h"
#include "services/registry/domain/registry_state.h"

namespace wangge::registry {

// INVALID_ARGUMENT names the field ("areas[3].effective_time").
absl::StatusOr<Deployment> ParseDeploymentJson(const std::string& json);
std::string DeploymentToJson(const Deployment& deployment);

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_APP_DEPLOYMENT_JSON_H_
