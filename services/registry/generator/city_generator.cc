#include "services/registry/generator/city_generator.h"

#include <geos_c.h>

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace wangge::registry {
namespace {

GEOSContextHandle_t Ctx() {
  struct Handle {
    GEOSContextHandle_t h = GEOS_init_r();
    ~Handle() { GEOS_finish_r(h); }
  };
  thread_local Handle handle;
  return handle.h;
}

struct Geom {
  GEOSGeometry* g = nullptr;
  explicit Geom(GEOSGeometry* geometry = nullptr) : g(geometry) {}
  ~Geom() {
    if (g) GEOSGeom_destroy_r(Ctx(), g);
  }
  Geom(Geom&& o) noexcept : g(o.g) { o.g = nullptr; }
  Geom& operator=(Geom&& o) noexcept {
    std::swap(g, o.g);
    return *this;
  }
  GEOSGeometry* release() {
    GEOSGeometry* r = g;
    g = nullptr;
    return r;
  }
};

std::string GeoJson(const GEOSGeometry* g) {
  GEOSGeoJSONWriter* w = GEOSGeoJSONWriter_create_r(Ctx());
  char* text = GEOSGeoJSONWriter_writeGeometry_r(Ctx(), w, g, -1);
  std::string out = text ? text : "";
  GEOSFree_r(Ctx(), text);
  GEOSGeoJSONWriter_destroy_r(Ctx(), w);
  return out;
}

// An irregular closed ring around a center (a wobbly circle).
Geom WobblyPolygon(double cx, double cy, double r, int vertices,
                   std::mt19937_64& rng) {
  std::uniform_real_distribution<double> wobble(0.75, 1.0);
  GEOSCoordSequence* seq = GEOSCoordSeq_create_r(Ctx(), vertices + 1, 2);
  for (int i = 0; i < vertices; ++i) {
    const double a = 2 * M_PI * i / vertices;
    const double rr = r * wobble(rng);
    GEOSCoordSeq_setXY_r(Ctx(), seq, i, cx + rr * std::cos(a),
                         cy + rr * std::sin(a));
  }
  double x0, y0;
  GEOSCoordSeq_getXY_r(Ctx(), seq, 0, &x0, &y0);
  GEOSCoordSeq_setXY_r(Ctx(), seq, vertices, x0, y0);
  GEOSGeometry* ring = GEOSGeom_createLinearRing_r(Ctx(), seq);
  return Geom(GEOSGeom_createPolygon_r(Ctx(), ring, nullptr, 0));
}

// The polygonal part of a geometry, or null.
Geom Polygonal(Geom g) {
  if (g.g == nullptr || GEOSisEmpty_r(Ctx(), g.g)) return Geom();
  const int type = GEOSGeomTypeId_r(Ctx(), g.g);
  if (type == GEOS_POLYGON || type == GEOS_MULTIPOLYGON) return g;
  std::vector<GEOSGeometry*> parts;
  for (int i = 0; i < GEOSGetNumGeometries_r(Ctx(), g.g); ++i) {
    const GEOSGeometry* part = GEOSGetGeometryN_r(Ctx(), g.g, i);
    if (GEOSGeomTypeId_r(Ctx(), part) == GEOS_POLYGON) {
      parts.push_back(GEOSGeom_clone_r(Ctx(), part));
    }
  }
  if (parts.empty()) return Geom();
  if (parts.size() == 1) return Geom(parts[0]);
  return Geom(GEOSGeom_createCollection_r(Ctx(), GEOS_MULTIPOLYGON, parts.data(),
                                          parts.size()));
}

// `n` random points inside `parent`.
std::vector<std::pair<double, double>> PointsInside(const GEOSGeometry* parent,
                                                    int n, std::mt19937_64& rng) {
  double minx, miny, maxx, maxy;
  GEOSGeom_getXMin_r(Ctx(), parent, &minx);
  GEOSGeom_getYMin_r(Ctx(), parent, &miny);
  GEOSGeom_getXMax_r(Ctx(), parent, &maxx);
  GEOSGeom_getYMax_r(Ctx(), parent, &maxy);
  const GEOSPreparedGeometry* prepared = GEOSPrepare_r(Ctx(), parent);
  std::uniform_real_distribution<double> ux(minx, maxx), uy(miny, maxy);
  std::vector<std::pair<double, double>> out;
  for (int tries = 0; static_cast<int>(out.size()) < n && tries < n * 200; ++tries) {
    const double x = ux(rng), y = uy(rng);
    Geom p(GEOSGeom_createPointFromXY_r(Ctx(), x, y));
    if (GEOSPreparedContains_r(Ctx(), prepared, p.g) == 1) out.emplace_back(x, y);
  }
  GEOSPreparedGeom_destroy_r(Ctx(), prepared);
  return out;
}

// Voronoi cells of random points inside `parent`, clipped to it.
std::vector<Geom> Subdivide(const GEOSGeometry* parent, int n,
                            std::mt19937_64& rng) {
  std::vector<Geom> cells;
  if (n <= 1) {
    cells.emplace_back(GEOSGeom_clone_r(Ctx(), parent));
    return cells;
  }
  auto points = PointsInside(parent, n, rng);
  std::vector<GEOSGeometry*> geoms;
  for (const auto& [x, y] : points) {
    geoms.push_back(GEOSGeom_createPointFromXY_r(Ctx(), x, y));
  }
  Geom multipoint(GEOSGeom_createCollection_r(Ctx(), GEOS_MULTIPOINT,
                                              geoms.data(), geoms.size()));
  Geom diagram(GEOSVoronoiDiagram_r(Ctx(), multipoint.g, parent, 0.0, 0));
  for (int i = 0; diagram.g && i < GEOSGetNumGeometries_r(Ctx(), diagram.g); ++i) {
    const GEOSGeometry* cell = GEOSGetGeometryN_r(Ctx(), diagram.g, i);
    Geom clipped = Polygonal(Geom(GEOSIntersection_r(Ctx(), cell, parent)));
    if (clipped.g == nullptr) continue;
    if (GEOSisValid_r(Ctx(), clipped.g) != 1) {
      clipped = Polygonal(Geom(GEOSMakeValid_r(Ctx(), clipped.g)));
      if (clipped.g == nullptr) continue;
    }
    double area = 0;
    GEOSArea_r(Ctx(), clipped.g, &area);
    if (area <= 0) continue;
    cells.push_back(std::move(clipped));
  }
  return cells;
}

}  // namespace

absl::StatusOr<Deployment> GenerateCity(const CitySpec& spec, uint64_t seed,
                                        absl::Time as_of) {
  std::mt19937_64 rng(seed);
  Deployment d;
  d.config.set_name(spec.name);
  d.config.set_time_zone("Asia/Shanghai");
  for (const auto& plan : spec.levels) {
    auto* level = d.config.add_levels();
    level->set_name(plan.name);
    level->set_code_length(plan.code_length);
    level->set_parent_level(plan.parent_level);
    level->set_dedicated(plan.dedicated);
  }
  // Areas of each level, with their geometry, to subdivide further.
  struct Made {
    std::string code;
    std::string level;
    Geom geometry;
  };
  std::vector<Made> made;
  std::uniform_int_distribution<int> people(30, 500);
  auto add = [&](const std::string& code, const std::string& parent,
                 const LevelPlan& plan, Geom g) {
    CreateArea c;
    c.code = code;
    c.parent_code = parent;
    c.level = plan.name;
    c.name = absl::StrCat(plan.name, " ", code);
    c.boundary_geojson = GeoJson(g.g);
    c.households = people(rng);
    c.population = c.households * 3;
    c.effective_time = as_of;
    d.areas.push_back(std::move(c));
    made.push_back({code, plan.name, std::move(g)});
  };
  for (const LevelPlan& plan : spec.levels) {
    if (plan.parent_level.empty()) {
      // Top level: Voronoi cells of a wobbly region around the center.
      Geom region = WobblyPolygon(spec.center_lon, spec.center_lat,
                                  spec.radius_deg, 48, rng);
      auto cells = Subdivide(region.g, plan.fanout, rng);
      const uint32_t serial_digits =
          plan.code_length - static_cast<uint32_t>(spec.root_code_prefix.size());
      for (size_t i = 0; i < cells.size(); ++i) {
        add(absl::StrCat(spec.root_code_prefix,
                         absl::StrFormat("%0*d", serial_digits, static_cast<int>(i + 1))),
            "", plan, std::move(cells[i]));
      }
      continue;
    }
    const size_t parents_end = made.size();
    for (size_t pi = 0; pi < parents_end; ++pi) {
      if (made[pi].level != plan.parent_level) continue;
      const std::string parent_code = made[pi].code;
      const uint32_t digits =
          plan.code_length - static_cast<uint32_t>(parent_code.size());
      std::vector<Geom> children;
      if (plan.dedicated) {
        // Small irregular blobs inside the parent, apart from each other.
        double minx, maxx;
        GEOSGeom_getXMin_r(Ctx(), made[pi].geometry.g, &minx);
        GEOSGeom_getXMax_r(Ctx(), made[pi].geometry.g, &maxx);
        const double r = (maxx - minx) / 20;
        auto centers = PointsInside(made[pi].geometry.g, plan.fanout * 4, rng);
        for (const auto& [x, y] : centers) {
          if (static_cast<int>(children.size()) >= plan.fanout) break;
          Geom blob = WobblyPolygon(x, y, r, 12, rng);
          Geom inside = Polygonal(
              Geom(GEOSIntersection_r(Ctx(), blob.g, made[pi].geometry.g)));
          if (inside.g == nullptr || GEOSisValid_r(Ctx(), inside.g) != 1) continue;
          bool apart = true;
          for (const Geom& other : children) {
            if (GEOSIntersects_r(Ctx(), other.g, inside.g) == 1) apart = false;
          }
          if (apart) children.push_back(std::move(inside));
        }
      } else {
        children = Subdivide(made[pi].geometry.g, plan.fanout, rng);
      }
      for (size_t i = 0; i < children.size(); ++i) {
        add(absl::StrCat(parent_code,
                         absl::StrFormat("%0*d", digits, static_cast<int>(i + 1))),
            parent_code, plan, std::move(children[i]));
      }
    }
  }
  return d;
}

absl::StatusOr<Deployment> GenerateDemo(uint64_t seed, absl::Time as_of) {
  CitySpec chengdu = DemoChengduSpec();
  chengdu.root_code_prefix = "5101";
  CitySpec dongcheng = DemoDongchengSpec();
  auto a = GenerateCity(chengdu, seed, as_of);
  if (!a.ok()) return a.status();
  auto b = GenerateCity(dongcheng, seed + 1, as_of);
  if (!b.ok()) return b.status();
  Deployment d = std::move(*a);
  d.config.set_name("demo");
  // Dongcheng's levels below the street join Chengdu's table.
  for (const auto& level : b->config.levels()) {
    bool known = false;
    for (const auto& existing : d.config.levels()) {
      known = known || existing.name() == level.name();
    }
    if (!known) *d.config.add_levels() = level;
  }
  for (auto& area : b->areas) d.areas.push_back(std::move(area));
  return d;
}

CitySpec DemoChengduSpec() {
  return {"demo-chengdu",
          {{"district", 6, "", 1},
           {"street", 9, "district", 2},
           {"community_general_grid", 12, "street", 2},
           {"general_grid", 14, "community_general_grid", 3},
           {"micro_grid", 16, "general_grid", 4},
           {"dedicated_grid", 15, "community_general_grid", 2, true}},
          "5101",
          104.06,
          30.66,
          0.02};
}

CitySpec DemoDongchengSpec() {
  return {"demo-dongcheng",
          {{"district", 6, "", 1},
           {"street", 9, "district", 3},
           {"community", 12, "street", 3},
           {"unit_grid", 15, "community", 5}},
          "1101",
          116.41,
          39.93,
          0.03};
}

CitySpec DongchengSpec() {
  return {"dongcheng",
          {{"district", 6, "", 1},
           {"street", 9, "district", 17},
           {"community", 12, "street", 6},
           {"unit_grid", 15, "community", 16}},
          "1101",
          116.41,
          39.93,
          0.03};
}

CitySpec YichangSpec() {
  return {"yichang",
          {{"city", 4, "", 1},
           {"district", 6, "city", 4},
           {"street", 9, "district", 3},
           {"community", 12, "street", 3},
           {"grid", 14, "community", 5}},
          "42",
          111.29,
          30.70,
          0.2};
}

CitySpec ChengduSpec() {
  return {"chengdu",
          {{"district", 6, "", 10},
           {"street", 9, "district", 10},
           {"community_general_grid", 12, "street", 10},
           {"general_grid", 14, "community_general_grid", 10},
           {"micro_grid", 16, "general_grid", 10},
           {"dedicated_grid", 15, "community_general_grid", 3, true}},
          "5101",
          104.06,
          30.66,
          0.5};
}

}  // namespace wangge::registry
