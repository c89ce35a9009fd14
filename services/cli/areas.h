#ifndef WANGGE_SERVICES_CLI_AREAS_H_
#define WANGGE_SERVICES_CLI_AREAS_H_

// The grids a scripted run reports in: the smallest general grids (micro-
// grids, unit grids) below an area, each with a point inside it, found
// through the registry's ListAreas.

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace wangge::cli {

struct ReportableGrid {
  std::string code;
  double longitude = 0;
  double latitude = 0;
};

// The grids below `parent`, sorted by code: depth first (last child first),
// stopping once `limit` are found (all the grids of the last parent read are
// kept); dedicated grids are neither counted nor entered.
absl::StatusOr<std::vector<ReportableGrid>> LeafGrids(const std::string& parent,
                                                      size_t limit);

}  // namespace wangge::cli

#endif  // WANGGE_SERVICES_CLI_AREAS_H_
