#ifndef WANGGE_SERVICES_REGISTRY_DOMAIN_AREA_INDEX_H_
#define WANGGE_SERVICES_REGISTRY_DOMAIN_AREA_INDEX_H_

// Which area contains a point, as of a time: a uniform grid of cells over
// every version of every area's boundary (so past moments answer too), each
// cell listing the boundaries whose envelope meets it, best answer first, so
// a lookup is one cell and usually one exact GEOS test.
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
  // The cell of a coordinate, clamped to the grid (the same function places
  // envelopes and points, so a point's cell lists every envelope holding it).
  int CellX(double x) const;
  int CellY(double y) const;

  std::vector<Entry> entries_;
  double x0_ = 0, y0_ = 0, x1_ = 0, y1_ = 0, cell_w_ = 1, cell_h_ = 1;
  int nx_ = 0, ny_ = 0;
  // Cell c's candidates are cell_items_[cell_start_[c] .. cell_start_[c+1]),
  // in answer order (dedicated, deeper, lower code), each with its envelope
  // inline so that rejecting one reads no entry.
  struct Candidate {
    float min_x, min_y, max_x, max_y;
    uint32_t entry : 31;
    // The boundary covers the whole cell: no exact test is needed.
    uint32_t covers_cell : 1;
  };
  std::vector<uint32_t> cell_start_;
  std::vector<Candidate> cell_items_;
};

// The same answer by testing every boundary (tests compare the two).
absl::StatusOr<Located> LocateByScan(const RegistryState& state, double lon,
                                     double lat, absl::Time as_of);

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_DOMAIN_AREA_INDEX_H_
