#include "services/registry/domain/area_index.h"

#include <geos_c.h>

#include <limits>
#include <random>

#include "gtest/gtest.h"
#include "services/registry/generator/city_generator.h"

namespace wangge::registry {
namespace {

const absl::Time kT0 =
    absl::FromCivil(absl::CivilDay(2024, 1, 1), absl::UTCTimeZone());

RegistryState Import(const CitySpec& spec, uint64_t seed) {
  auto d = GenerateCity(spec, seed, kT0);
  EXPECT_TRUE(d.ok()) << d.status();
  RegistryState state;
  auto events = DecideImport(state, *d);
  EXPECT_TRUE(events.ok()) << events.status();
  for (const auto& e : *events) EXPECT_TRUE(Evolve(state, e).ok());
  return state;
}

// Random points, every third boundary vertex, points a hair off it, and
// edge midpoints with points a hair off them:
// the index and the brute-force scan must agree on every one.
void CompareEverywhere(const RegistryState& state, const AreaIndex& index,
                       absl::Time as_of, int random_points, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Envelope all{1e9, 1e9, -1e9, -1e9};
  std::vector<std::pair<double, double>> points;
  for (const auto& [code, area] : state.areas) {
    const AreaVersion* v = area.VersionAt(as_of);
    if (v == nullptr) continue;
    const Envelope& e = v->boundary->envelope();
    all = {std::min(all.min_x, e.min_x), std::min(all.min_y, e.min_y),
           std::max(all.max_x, e.max_x), std::max(all.max_y, e.max_y)};
    // Vertices of the exterior ring(s).
    const GEOSGeometry* g = v->boundary->geos();
    GEOSContextHandle_t ctx = GEOS_init_r();
    for (int i = 0; i < GEOSGetNumGeometries_r(ctx, g); ++i) {
      const GEOSGeometry* poly = GEOSGetGeometryN_r(ctx, g, i);
      const GEOSGeometry* ring = GEOSGetExteriorRing_r(ctx, poly);
      const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(ctx, ring);
      unsigned int n = 0;
      GEOSCoordSeq_getSize_r(ctx, seq, &n);
      for (unsigned int k = 0; k < n; k += 3) {
        double x, y;
        GEOSCoordSeq_getXY_r(ctx, seq, k, &x, &y);
        points.emplace_back(x, y);
        points.emplace_back(x + 1e-9, y - 1e-9);
        points.emplace_back(x - 1e-7, y + 1e-7);
        // On an edge, and just either side of the band around edges where
        // the index's crossing test defers to GEOS.
        if (k + 1 < n) {
          double x2, y2;
          GEOSCoordSeq_getXY_r(ctx, seq, k + 1, &x2, &y2);
          const double mx = (x + x2) / 2, my = (y + y2) / 2;
          points.emplace_back(mx, my);
          for (double d : {-3e-9, -1e-9, 1e-9, 3e-9}) {
            points.emplace_back(mx + d, my);
            points.emplace_back(mx, my + d);
          }
        }
      }
    }
    GEOS_finish_r(ctx);
  }
  std::uniform_real_distribution<double> ux(all.min_x - 0.01, all.max_x + 0.01);
  std::uniform_real_distribution<double> uy(all.min_y - 0.01, all.max_y + 0.01);
  for (int i = 0; i < random_points; ++i) points.emplace_back(ux(rng), uy(rng));
  // The index's own edges and coordinates no cell can hold.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const auto& p : std::vector<std::pair<double, double>>{
           {all.min_x, all.min_y},
           {all.max_x, all.max_y},
           {all.max_x, all.min_y},
           {(all.min_x + all.max_x) / 2, all.max_y},
           {1e300, 30.0},
           {-1e300, -1e300},
           {nan, 30.0},
           {104.0, nan}}) {
    points.push_back(p);
  }
  int mismatches = 0, found = 0;
  for (const auto& [x, y] : points) {
    auto a = index.Locate(x, y, as_of);
    auto b = LocateByScan(state, x, y, as_of);
    const bool same = a.ok() == b.ok() && (!a.ok() || a->code == b->code);
    if (!same) ++mismatches;
    if (a.ok()) ++found;
  }
  EXPECT_EQ(mismatches, 0) << "of " << points.size();
  // Not vacuous: a good share of the points lands in some area.
  EXPECT_GT(found, static_cast<int>(points.size()) / 4);
}

TEST(AreaIndexTest, ChengduModelWithDedicatedGrids) {
  RegistryState state = Import(DemoChengduSpec(), 7);
  AreaIndex index(state);
  CompareEverywhere(state, index, kT0, 20000, 1);
  // Points inside a dedicated grid go to it, not to the micro-grid below.
  int dedicated_hits = 0;
  for (const auto& [code, area] : state.areas) {
    if (!area.dedicated) continue;
    const Envelope& e = area.versions[0].boundary->envelope();
    const double x = (e.min_x + e.max_x) / 2, y = (e.min_y + e.max_y) / 2;
    if (!area.versions[0].boundary->Covers(x, y)) continue;
    auto located = index.Locate(x, y, kT0);
    ASSERT_TRUE(located.ok());
    EXPECT_EQ(located->code, code);
    ++dedicated_hits;
  }
  EXPECT_GT(dedicated_hits, 0);
  // Before the deployment existed, nothing.
  EXPECT_EQ(index.Locate(104.06, 30.66, kT0 - absl::Seconds(1)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(AreaIndexTest, DongchengSizedDistrict) {
  RegistryState state = Import(DongchengSpec(), 11);
  int grids = 0;
  for (const auto& [code, area] : state.areas)
    grids += area.level == "unit_grid";
  EXPECT_GT(grids, 1500);
  EXPECT_EQ(state.Find("110101")->level, "district");
  AreaIndex index(state);
  CompareEverywhere(state, index, kT0, 5000, 2);
}

TEST(AreaIndexTest, YichangModel) {
  RegistryState state = Import(YichangSpec(), 3);
  AreaIndex index(state);
  CompareEverywhere(state, index, kT0, 5000, 3);
}

TEST(AreaIndexTest, AsOfBeforeAndAfterARedraw) {
  RegistryState state = Import(DemoDongchengSpec(), 5);
  // Shrink one unit grid to half its envelope's width (clipped to itself):
  // the cut-off part falls back to its community after the redraw.
  std::string grid;
  for (const auto& [code, area] : state.areas) {
    if (area.level == "unit_grid") {
      grid = code;
      break;
    }
  }
  const Area& area = *state.Find(grid);
  const Envelope e = area.versions[0].boundary->envelope();
  GEOSContextHandle_t ctx = GEOS_init_r();
  GEOSGeometry* left = GEOSGeom_createRectangle_r(
      ctx, e.min_x, e.min_y, (e.min_x + e.max_x) / 2, e.max_y);
  GEOSGeometry* shrunk =
      GEOSIntersection_r(ctx, area.versions[0].boundary->geos(), left);
  GEOSGeoJSONWriter* w = GEOSGeoJSONWriter_create_r(ctx);
  char* text = GEOSGeoJSONWriter_writeGeometry_r(ctx, w, shrunk, -1);
  const std::string geojson = text;
  GEOSFree_r(ctx, text);
  GEOSGeoJSONWriter_destroy_r(ctx, w);
  GEOSGeom_destroy_r(ctx, shrunk);
  GEOSGeom_destroy_r(ctx, left);
  GEOS_finish_r(ctx);
  const absl::Time t1 = kT0 + absl::Hours(24 * 60);
  auto redraw = DecideRedrawArea(state, grid, geojson, t1);
  ASSERT_TRUE(redraw.ok()) << redraw.status();
  ASSERT_TRUE(Evolve(state, *redraw).ok());
  AreaIndex index(state);
  for (absl::Time t : {kT0, t1 - absl::Seconds(1), t1, t1 + absl::Hours(1)}) {
    CompareEverywhere(state, index, t, 3000, 4);
  }
  // A point in the cut-off half: the grid before, its community after.
  const absl::Time before = t1 - absl::Hours(1);
  bool checked = false;
  for (double fx = 0.55; fx < 0.95 && !checked; fx += 0.05) {
    for (double fy = 0.1; fy < 0.95 && !checked; fy += 0.05) {
      const double x = e.min_x + fx * (e.max_x - e.min_x);
      const double y = e.min_y + fy * (e.max_y - e.min_y);
      auto was = index.Locate(x, y, before);
      if (!was.ok() || was->code != grid) continue;
      auto now = index.Locate(x, y, t1);
      ASSERT_TRUE(now.ok());
      EXPECT_EQ(now->code, area.parent_code);
      checked = true;
    }
  }
  EXPECT_TRUE(checked);
}

}  // namespace
}  // namespace wangge::registry
