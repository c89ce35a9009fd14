#include "services/registry/generator/city_generator.h"

#include <geos_c.h>

#include <cmath>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "services/common/clock/proto_time.h"

namespace wangge::registry {
namespace {

GEOSContextHandle_t Ctx() { return GeosContext(); }

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
  return Geom(GEOSGeom_createCollection_r(Ctx(), GEOS_MULTIPOLYGON,
                                          parts.data(), parts.size()));
}

// `n` random points inside `parent`.
std::vector<std::pair<double, double>> PointsInside(const GEOSGeometry* parent,
                                                    int n,
                                                    std::mt19937_64& rng) {
  double minx, miny, maxx, maxy;
  GEOSGeom_getXMin_r(Ctx(), parent, &minx);
  GEOSGeom_getYMin_r(Ctx(), parent, &miny);
  GEOSGeom_getXMax_r(Ctx(), parent, &maxx);
  GEOSGeom_getYMax_r(Ctx(), parent, &maxy);
  const GEOSPreparedGeometry* prepared = GEOSPrepare_r(Ctx(), parent);
  std::uniform_real_distribution<double> ux(minx, maxx), uy(miny, maxy);
  std::vector<std::pair<double, double>> out;
  for (int tries = 0; static_cast<int>(out.size()) < n && tries < n * 200;
       ++tries) {
    const double x = ux(rng), y = uy(rng);
    Geom p(GEOSGeom_createPointFromXY_r(Ctx(), x, y));
    if (GEOSPreparedContains_r(Ctx(), prepared, p.g) == 1)
      out.emplace_back(x, y);
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
  for (int i = 0; diagram.g && i < GEOSGetNumGeometries_r(Ctx(), diagram.g);
       ++i) {
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
          plan.code_length -
          static_cast<uint32_t>(spec.root_code_prefix.size());
      for (size_t i = 0; i < cells.size(); ++i) {
        add(absl::StrCat(spec.root_code_prefix,
                         absl::StrFormat("%0*d", serial_digits,
                                         static_cast<int>(i + 1))),
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
          if (inside.g == nullptr || GEOSisValid_r(Ctx(), inside.g) != 1)
            continue;
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
        add(absl::StrCat(parent_code, absl::StrFormat("%0*d", digits,
                                                      static_cast<int>(i + 1))),
            parent_code, plan, std::move(children[i]));
      }
    }
  }
  return d;
}

namespace {

// The catalogue examples of the domain brief (Beijing Chaoyang's codes),
// with their owning department types and example time limits.
struct DemoClass {
  const char* code;
  const char* name;
  const char* type;
  int ordinary_minutes;  // working time
};
constexpr DemoClass kDemoClasses[] = {
    {"component/01/0101", "上水井盖 water-supply cover", "water", 240},
    {"component/01/0102", "污水井盖 sewage cover", "drainage", 240},
    {"component/01/0103", "雨水井盖 rain-water cover", "drainage", 240},
    {"component/01/0118", "路灯 street lamp", "street_lighting", 480},
    {"component/02/0214", "交通信号灯 traffic light", "traffic_police", 240},
    {"component/03/0301", "公共厕所 public toilet", "sanitation", 480},
    {"component/03/0305", "垃圾箱 litter bin", "sanitation", 480},
    {"component/04/0402", "行道树 street tree", "parks", 2400},
    {"event/01/0102", "暴露垃圾 exposed rubbish", "sanitation", 240},
    {"event/01/0104", "道路保洁 street cleaning", "sanitation", 240},
    {"event/01/0111", "道路积水 standing water", "drainage", 120},
    {"event/02/0201", "非法张贴小广告 illegal flyers", "urban_management", 480},
    {"event/03/0302", "工地扬尘 construction dust", "construction", 480},
    {"event/03/0306", "道路破损 damaged road", "roads", 2400},
    {"event/04/0403", "燃气管道破裂 gas pipe burst", "gas", 60},
    {"event/04/0411", "火灾 fire", "fire", 30},
    {"event/05/0505", "机动车乱停放 illegal parking", "traffic_police", 120},
    {"event/05/0510", "露天烧烤 open-air barbecue", "urban_management", 120},
};

}  // namespace

void AddDemoPolicy(Deployment* d, uint64_t seed, absl::Time as_of) {
  std::mt19937_64 rng(seed);
  v1::PolicyPublished& p = d->policy.emplace();
  p.set_version("demo-2024.1");
  *p.mutable_effective_time() = ToProto(as_of);
  for (const DemoClass& c : kDemoClasses) {
    auto* cls = p.add_classes();
    cls->set_code(c.code);
    cls->set_name(c.name);
    cls->set_department_type(c.type);
    cls->set_active(true);
    cls->set_extension_allowed(c.ordinary_minutes > 240);
    cls->add_filing_criteria("confirmed on site");
    const bool emergency_class = absl::StartsWith(c.code, "event/04/");
    auto* ordinary = cls->add_limits();
    ordinary->set_urgency(emergency_class ? "emergency" : "ordinary");
    ordinary->set_minutes(c.ordinary_minutes);
    ordinary->set_working_time(!emergency_class);
    if (!emergency_class) {
      auto* urgent = cls->add_limits();
      urgent->set_urgency("urgent");
      urgent->set_minutes(std::max(30, c.ordinary_minutes / 2));
      urgent->set_working_time(true);
    }
  }
  auto* cal = p.mutable_calendar();
  cal->set_time_zone("Asia/Shanghai");
  cal->set_example(true);  // an example calendar, not an official one
  for (auto [start, end] :
       {std::pair{"09:00", "12:00"}, std::pair{"13:30", "17:30"}}) {
    auto* period = cal->add_periods();
    period->set_start(start);
    period->set_end(end);
  }
  for (const char* day :
       {"2024-01-01", "2024-05-01", "2024-05-02", "2024-05-03", "2024-10-01",
        "2024-10-02", "2024-10-03", "2024-10-04", "2024-10-07"}) {
    cal->add_holidays(day);
  }
  for (const char* day :
       {"2024-04-28", "2024-05-11", "2024-09-29", "2024-10-12"}) {
    cal->add_make_up_days(day);
  }
  // Departments per district, a street office per street (the locality
  // fallback, 属地兜底), staff for every post.
  const char* kTypes[] = {"water",
                          "drainage",
                          "street_lighting",
                          "traffic_police",
                          "sanitation",
                          "parks",
                          "urban_management",
                          "construction",
                          "roads",
                          "gas",
                          "fire"};
  auto staff = [&](const std::string& id, const std::string& role,
                   const std::string& area, const std::string& department) {
    v1::StaffAssigned& a = d->staff.emplace_back();
    a.set_staff_id(id);
    a.set_name(id);
    a.set_role(role);
    a.set_full_time(true);
    a.add_area_codes(area);
    a.set_department(department);
    *a.mutable_start_time() = ToProto(as_of);
  };
  std::uniform_real_distribution<double> unit(0.2, 0.8);
  for (const CreateArea& area : d->areas) {
    if (area.level == "district") {
      for (const char* type : kTypes) {
        auto* dept = p.add_departments();
        dept->set_id(absl::StrCat(type, "-", area.code));
        dept->set_name(absl::StrCat(type, " ", area.code));
        dept->set_type(type);
        dept->set_area_code(area.code);
        staff(absl::StrCat("handler-", type, "-", area.code),
              "department_handler", area.code, dept->id());
      }
      for (const char* role :
           {"shift_leader", "dispatcher", "receptionist", "follow_up_agent"}) {
        staff(absl::StrCat(role, "-", area.code), role, area.code, "");
      }
      // Illegal parking goes to urban management in the Dongcheng-style
      // district (a routing rule overriding the class's type).
      if (absl::StartsWith(area.code, "1101")) {
        auto* rule = p.add_routing();
        rule->set_category_code("event/05/0505");
        rule->set_area_code(area.code);
        rule->set_department_type("urban_management");
      }
      // A few water-supply manhole covers (部件, 6+2+2+6 ids).
      auto boundary = Boundary::FromGeoJson(area.boundary_geojson);
      for (int i = 1; boundary.ok() && i <= 5; ++i) {
        const Envelope& e = (*boundary)->envelope();
        double lon, lat;
        do {
          lon = e.min_x + unit(rng) * (e.max_x - e.min_x);
          lat = e.min_y + unit(rng) * (e.max_y - e.min_y);
        } while (!(*boundary)->Covers(lon, lat));
        v1::ComponentRegistered& c = d->components.emplace_back();
        c.set_component_id(
            absl::StrCat(area.code, "0101", absl::StrFormat("%06d", i)));
        c.set_owner_department(absl::StrCat("water-", area.code));
        c.set_maintainer_department(absl::StrCat("water-", area.code));
        c.set_longitude(lon);
        c.set_latitude(lat);
        c.set_state("in_use");
        *c.mutable_effective_time() = ToProto(as_of);
      }
    } else if (area.level == "street") {
      auto* office = p.add_departments();
      office->set_id(absl::StrCat("street-office-", area.code));
      office->set_name(absl::StrCat("street office ", area.code));
      office->set_type("street_office");
      office->set_area_code(area.code);
      auto* fallback = p.add_fallbacks();
      fallback->set_area_code(area.code);
      fallback->set_department_id(office->id());
    } else if (area.level == "community" ||
               area.level == "community_general_grid") {
      staff(absl::StrCat("supervisor-", area.code), "supervisor", area.code,
            "");
    } else if (area.level == "unit_grid" || area.level == "grid") {
      staff(absl::StrCat("grid-worker-", area.code), "grid_worker", area.code,
            "");
    } else if (area.level == "micro_grid") {
      staff(absl::StrCat("micro-grid-worker-", area.code), "micro_grid_worker",
            area.code, "");
    }
  }
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
  AddDemoPolicy(&d, seed, as_of);
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
