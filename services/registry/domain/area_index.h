#ifndef WANGGE_SERVICES_REGISTRY_DOMAIN_AREA_INDEX_H_
#define WANGGE_SERVICES_REGISTRY_DOMAIN_AREA_INDEX_H_

// Which area contains a point, as of a time: a GEOS STRtree over every
// version of every area's boundary (so past moments answer too).
//
// The answer is the smallest area covering the point in force at that time:
// a dedicated grid (专属网格) wins over any other area; otherwise the longest
// code (codes are hierarchical, so that is the deepest area, even in a
// follower's partial copy); a point on an edge shared by two areas goes to
// the lower code.
//
// Thread safety: immutable after construction; Locate may run on any number
// of threads at once. Rebuild after the registry changes.

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/registry/domain/registry_state.h"

typedef struct GEOSSTRtree_t GEOSSTRtree;

namespace wangge::registry {

struct Located {
  std::string code;
  std::string level;
  bool dedicated = false;
  int depth = 0;
};

class AreaIndex {
 public:
  explicit AreaIndex(const RegistryState& state);
  ~AreaIndex();
  AreaIndex(const AreaIndex&) = delete;
  AreaIndex& operator=(const AreaIndex&) = delete;

  // NOT_FOUND when no area covers the point at that time.
  absl::StatusOr<Located> Locate(double lon, double lat,
                                 absl::Time as_of) const;
  size_t entries() const { return entries_.size(); }

 private:
  struct Entry {
    std::string code;
    std::string level;
    bool dedicated;
    int depth;
    absl::Time from, to;
    std::shared_ptr<const Boundary> boundary;
  };
  GEOSSTRtree* tree_ = nullptr;
  std::vector<Entry> entries_;
};

// The same answer by testing every boundary (tests compare the two).
absl::StatusOr<Located> LocateByScan(const RegistryState& state, double lon,
                                     double lat, absl::Time as_of);

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_DOMAIN_AREA_INDEX_H_
