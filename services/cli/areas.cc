#include "services/cli/areas.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "services/cli/cli_support.h"
#include "services/common/status/grpc_status.h"
#include "services/registry/domain/geometry.h"
#include "wangge/registry/v1/registry.grpc.pb.h"

namespace wangge::cli {

namespace {

bool IsLeafLevel(const std::string& level) {
  return level == "micro_grid" || level == "unit_grid";
}

// A point well inside the boundary: the first of a 10 x 10 sample of its
// envelope that the polygon covers.
absl::StatusOr<ReportableGrid> PointIn(const registry::v1::Area& area) {
  auto boundary = registry::Boundary::FromGeoJson(area.boundary_geojson());
  if (!boundary.ok()) return boundary.status();
  const auto& env = (*boundary)->envelope();
  for (int i = 0; i < 100; ++i) {
    double lon = env.min_x + (env.max_x - env.min_x) * (i % 10 + 0.5) / 10;
    double lat = env.min_y + (env.max_y - env.min_y) * (i / 10 + 0.5) / 10;
    if ((*boundary)->Covers(lon, lat))
      return ReportableGrid{area.code(), lon, lat};
  }
  return absl::NotFoundError(
      absl::StrCat("no sample point inside area ", area.code()));
}

}  // namespace

absl::StatusOr<std::vector<ReportableGrid>> LeafGrids(const std::string& parent,
                                                      size_t limit) {
  auto token = MintToken("administrator", "cli-areas");
  if (!token.ok()) return token.status();
  auto stub = registry::v1::RegistryService::NewStub(Channel("registry"));
  std::vector<ReportableGrid> out;
  std::vector<std::string> frontier = {parent};
  while (!frontier.empty() && out.size() < limit) {
    auto ctx = ContextWithToken(*token);
    registry::v1::ListAreasRequest request;
    request.set_parent_code(frontier.back());
    request.set_page_size(1000);
    frontier.pop_back();
    registry::v1::ListAreasResponse children;
    grpc::Status s = stub->ListAreas(ctx.get(), request, &children);
    if (!s.ok()) return status::FromGrpcStatus(s);
    for (const auto& a : children.areas()) {
      if (a.dedicated()) continue;
      if (!IsLeafLevel(a.level())) {
        frontier.push_back(a.code());
      } else {
        auto grid = PointIn(a);
        if (!grid.ok()) return grid.status();
        out.push_back(std::move(*grid));
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.code < b.code; });
  return out;
}

}  // namespace wangge::cli
