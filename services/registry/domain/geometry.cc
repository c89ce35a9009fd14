#include "services/registry/domain/geometry.h"

#include <geos_c.h>

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

Boundary::Boundary(GEOSGeometry* geometry)
    : geometry_(geometry), prepared_(GEOSPrepare_r(Ctx(), geometry)) {
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
