#ifndef WANGGE_SERVICES_REGISTRY_GENERATOR_CITY_GENERATOR_H_
#define WANGGE_SERVICES_REGISTRY_GENERATOR_CITY_GENERATOR_H_

// Synthetic cities for tests, demos and benchmarks, reproducible from a seed:
// every level is cut into irregular Voronoi cells of random points inside
// the parent (GEOS), clipped to the parent, so siblings share edges and
// nothing is a lattice. Dedicated grids are small irregular polygons inside
// a community general grid, apart from each other.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/registry/domain/registry_state.h"

namespace wangge::registry {

struct LevelPlan {
  std::string name;
  uint32_t code_length;
  std::string parent_level;
  // Children per parent (roots: how many top-level areas).
  int fanout;
  bool dedicated = false;
};

struct CitySpec {
  std::string name;
  std::vector<LevelPlan> levels;
  std::string root_code_prefix;  // e.g. "5101" for Chengdu's districts
  double center_lon = 104.06;
  double center_lat = 30.66;
  double radius_deg = 0.1;
};

// Presets.
CitySpec DemoChengduSpec();    // a small Chengdu-style district ("3+1")
CitySpec DemoDongchengSpec();  // a small Dongcheng-style district
CitySpec DongchengSpec();      // 17 streets, ~1,650 unit grids
CitySpec YichangSpec();  // city → district → street → community → grid
CitySpec ChengduSpec();  // >= 100,000 micro-grids (benchmarks)

// The demo deployment: a Chengdu-style district (510104: micro-grids and
// dedicated grids) and a Dongcheng-style district (110101: unit grids), one
// level table holding both models.
absl::StatusOr<Deployment> GenerateDemo(uint64_t seed, absl::Time as_of);

// Adds a demo policy (the domain brief's catalogue examples with example time
// limits, an example calendar, departments per district, street offices as
// locality fallbacks), staff for every post and a few components.
void AddDemoPolicy(Deployment* deployment, uint64_t seed, absl::Time as_of);

// The deployment (levels and areas, parents first), effective at `as_of`.
absl::StatusOr<Deployment> GenerateCity(const CitySpec& spec, uint64_t seed,
                                        absl::Time as_of);

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_GENERATOR_CITY_GENERATOR_H_
