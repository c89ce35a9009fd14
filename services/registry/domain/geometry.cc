#include "services/registry/domain/geometry.h"

#include <geos_c.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace wangge::registry {
namespace {

void Ignore(const char*, void*) {}

GEOSContextHandle_t Ctx() { return GeosContext(); }

}  // namespace

GEOSContextHandle_t GeosContext() {
  struct Handle {
    GEOSContextHandle_t h;
    Handle() : h(GEOS_init_r()) {
      GEOSContext_setNoticeMessageHandler_r(h, &Ignore, nullptr);
      GEOSContext_setErrorMessageHandler_r(h, &Ignore, nullptr);
    }
    ~Handle() { GEOS_finish_r(h); }
  };
  thread_local Handle handle;
  return handle.h;
}

namespace {

// Points this close to an edge (degrees, ~0.1 mm) are left to GEOS: the
// crossing test's rounding is many orders of magnitude smaller, so outside
// this band its answer is GEOS's, and on the edge GEOS's "covers" decides.
constexpr double kEdgeTolerance = 1e-9;
// Above this many vertices GEOS's indexed point locator beats a linear
// walk over the edges.
constexpr size_t kMaxQuickVertices = 256;

void AppendRing(const GEOSGeometry* ring, std::vector<double>* rings) {
  const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(Ctx(), ring);
  unsigned int n = 0;
  if (seq == nullptr || GEOSCoordSeq_getSize_r(Ctx(), seq, &n) == 0) return;
  rings->push_back(n);
  for (unsigned int i = 0; i < n; ++i) {
    double x = 0, y = 0;
    GEOSCoordSeq_getXY_r(Ctx(), seq, i, &x, &y);
    rings->push_back(x);
    rings->push_back(y);
  }
}

}  // namespace

Boundary::Boundary(GEOSGeometry* geometry)
    : geometry_(geometry), prepared_(GEOSPrepare_r(Ctx(), geometry)) {
  if (GEOSGetNumCoordinates_r(Ctx(), geometry_) <=
      static_cast<int>(kMaxQuickVertices)) {
    const int parts = GEOSGetNumGeometries_r(Ctx(), geometry_);
    for (int i = 0; i < parts; ++i) {
      const GEOSGeometry* polygon = GEOSGetGeometryN_r(Ctx(), geometry_, i);
      AppendRing(GEOSGetExteriorRing_r(Ctx(), polygon), &rings_);
      const int holes = GEOSGetNumInteriorRings_r(Ctx(), polygon);
      for (int h = 0; h < holes; ++h) {
        AppendRing(GEOSGetInteriorRingN_r(Ctx(), polygon, h), &rings_);
      }
    }
    rings_.shrink_to_fit();
  }
  double minx = 0, miny = 0, maxx = 0, maxy = 0;
  GEOSGeom_getXMin_r(Ctx(), geometry_, &minx);
  GEOSGeom_getYMin_r(Ctx(), geometry_, &miny);
  GEOSGeom_getXMax_r(Ctx(), geometry_, &maxx);
  GEOSGeom_getYMax_r(Ctx(), geometry_, &maxy);
  envelope_ = {minx, miny, maxx, maxy};
  area_ = 0;
  GEOSArea_r(Ctx(), geometry_, &area_);
}

Boundary::~Boundary() {
  GEOSPreparedGeom_destroy_r(Ctx(), prepared_);
  GEOSGeom_destroy_r(Ctx(), geometry_);
}

absl::StatusOr<std::shared_ptr<const Boundary>> Boundary::FromGeos(
    GEOSGeometry* g) {
  if (g == nullptr) return absl::InvalidArgumentError("boundary: no geometry");
  const int type = GEOSGeomTypeId_r(Ctx(), g);
  if (type != GEOS_POLYGON && type != GEOS_MULTIPOLYGON) {
    GEOSGeom_destroy_r(Ctx(), g);
    return absl::InvalidArgumentError(
        "boundary: must be a Polygon or MultiPolygon");
  }
  if (GEOSisEmpty_r(Ctx(), g) == 1) {
    GEOSGeom_destroy_r(Ctx(), g);
    return absl::InvalidArgumentError("boundary: empty");
  }
  if (GEOSisValid_r(Ctx(), g) != 1) {
    char* reason = GEOSisValidReason_r(Ctx(), g);
    std::string why = reason ? reason : "invalid";
    GEOSFree_r(Ctx(), reason);
    GEOSGeom_destroy_r(Ctx(), g);
    return absl::InvalidArgumentError(absl::StrCat("boundary: ", why));
  }
  std::shared_ptr<const Boundary> b(new Boundary(g));
  const Envelope& e = b->envelope();
  if (e.min_x < -180 || e.max_x > 180 || e.min_y < -90 || e.max_y > 90) {
    return absl::InvalidArgumentError(
        "boundary: coordinates outside longitude [-180, 180] / latitude "
        "[-90, 90]");
  }
  if (b->Area() <= 0) return absl::InvalidArgumentError("boundary: zero area");
  return b;
}

absl::StatusOr<std::shared_ptr<const Boundary>> Boundary::FromGeoJson(
    absl::string_view geojson) {
  GEOSGeoJSONReader* reader = GEOSGeoJSONReader_create_r(Ctx());
  const std::string text(geojson);
  GEOSGeometry* g =
      GEOSGeoJSONReader_readGeometry_r(Ctx(), reader, text.c_str());
  GEOSGeoJSONReader_destroy_r(Ctx(), reader);
  if (g == nullptr) {
    return absl::InvalidArgumentError(
        "boundary: not a GeoJSON geometry (rings must be closed, with at "
        "least four positions)");
  }
  return FromGeos(g);
}

std::string Boundary::ToGeoJson() const {
  GEOSGeoJSONWriter* writer = GEOSGeoJSONWriter_create_r(Ctx());
  char* text = GEOSGeoJSONWriter_writeGeometry_r(Ctx(), writer, geometry_, -1);
  std::string out = text ? text : "";
  GEOSFree_r(Ctx(), text);
  GEOSGeoJSONWriter_destroy_r(Ctx(), writer);
  return out;
}

GEOSGeometry* MakePoint(double lon, double lat) {
  return GEOSGeom_createPointFromXY_r(Ctx(), lon, lat);
}

void DestroyGeometry(GEOSGeometry* g) { GEOSGeom_destroy_r(Ctx(), g); }

bool Boundary::CoversPoint(const GEOSGeometry* point, double lon,
                           double lat) const {
  return envelope_.Contains(lon, lat) &&
         GEOSPreparedCovers_r(Ctx(), prepared_, point) == 1;
}

int Boundary::QuickCover(double px, double py) const {
  if (!envelope_.Contains(px, py)) return -1;
  if (rings_.empty()) return 0;
  // Even-odd crossings of a ray towards +x, over every ring (the polygons of
  // a valid MultiPolygon do not overlap, so the parity is still right).
  bool inside = false;
  const double* const end = rings_.data() + rings_.size();
  for (const double* ring = rings_.data(); ring < end;) {
    const size_t points = static_cast<size_t>(ring[0]);
    const double* v = ring + 1;
    ring = v + 2 * points;
    for (size_t i = 0; i + 1 < points; ++i, v += 2) {
      const double x1 = v[0], y1 = v[1], x2 = v[2], y2 = v[3];
      if ((py < y1 - kEdgeTolerance && py < y2 - kEdgeTolerance) ||
          (py > y1 + kEdgeTolerance && py > y2 + kEdgeTolerance)) {
        continue;  // neither crossed nor near
      }
      const double dx = x2 - x1, dy = y2 - y1;
      const double length2 = dx * dx + dy * dy;
      const double t =
          length2 > 0 ? std::clamp(((px - x1) * dx + (py - y1) * dy) / length2,
                                   0.0, 1.0)
                      : 0.0;
      const double qx = x1 + t * dx - px, qy = y1 + t * dy - py;
      if (qx * qx + qy * qy <= kEdgeTolerance * kEdgeTolerance) return 0;
      if ((y1 > py) != (y2 > py) && px < x1 + (py - y1) * dx / dy) {
        inside = !inside;
      }
    }
  }
  return inside ? 1 : -1;
}

bool Boundary::CoversRectangle(const Envelope& r) const {
  if (r.min_x < envelope_.min_x || r.max_x > envelope_.max_x ||
      r.min_y < envelope_.min_y || r.max_y > envelope_.max_y) {
    return false;
  }
  GEOSGeometry* rect =
      GEOSGeom_createRectangle_r(Ctx(), r.min_x, r.min_y, r.max_x, r.max_y);
  if (rect == nullptr) return false;
  const bool covered = GEOSPreparedCovers_r(Ctx(), prepared_, rect) == 1;
  GEOSGeom_destroy_r(Ctx(), rect);
  return covered;
}

bool Boundary::Covers(double lon, double lat) const {
  if (!envelope_.Contains(lon, lat)) return false;
  GEOSGeometry* p = GEOSGeom_createPointFromXY_r(Ctx(), lon, lat);
  const bool covered = GEOSPreparedCovers_r(Ctx(), prepared_, p) == 1;
  GEOSGeom_destroy_r(Ctx(), p);
  return covered;
}

double Boundary::AreaOutside(const Boundary& other) const {
  GEOSGeometry* d = GEOSDifference_r(Ctx(), geometry_, other.geometry_);
  if (d == nullptr) return area_;  // could not compute: treat as outside
  double a = 0;
  GEOSArea_r(Ctx(), d, &a);
  GEOSGeom_destroy_r(Ctx(), d);
  return a;
}

double Boundary::OverlapArea(const Boundary& other) const {
  const Envelope& o = other.envelope_;
  if (o.min_x > envelope_.max_x || o.max_x < envelope_.min_x ||
      o.min_y > envelope_.max_y || o.max_y < envelope_.min_y) {
    return 0;
  }
  if (GEOSPreparedIntersects_r(Ctx(), prepared_, other.geometry_) != 1)
    return 0;
  GEOSGeometry* i = GEOSIntersection_r(Ctx(), geometry_, other.geometry_);
  if (i == nullptr) return std::min(area_, other.area_);
  double a = 0;
  GEOSArea_r(Ctx(), i, &a);
  GEOSGeom_destroy_r(Ctx(), i);
  return a;
}

}  // namespace wangge::registry
