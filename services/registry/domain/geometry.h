#ifndef WANGGE_SERVICES_REGISTRY_DOMAIN_GEOMETRY_H_
#define WANGGE_SERVICES_REGISTRY_DOMAIN_GEOMETRY_H_

// Boundaries with GEOS (C API, thread-safe _r functions, one context per
// thread): GeoJSON in and out, validity with GEOS's reason, and the
// area-based tests the registry's rules need (inside the parent, no overlap
// with siblings), with a relative tolerance for floating-point edges shared
// by construction. Point lookups first try a crossing test over the
// boundary's own vertices (QuickCover; GEOS 3.11's C API has no point test
// without a point object) and ask GEOS only for points on or next to an
// edge.
//
// Thread safety: a Boundary is immutable once built and may be read from any
// thread.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct GEOSContextHandle_HS* GEOSContextHandle_t;
typedef struct GEOSGeom_t GEOSGeometry;
typedef struct GEOSPrepGeom_t GEOSPreparedGeometry;

namespace wangge::registry {

// This thread's GEOS context: contexts keep error state and are not shared
// between threads; geometries may be.
GEOSContextHandle_t GeosContext();

struct Envelope {
  double min_x, min_y, max_x, max_y;
  bool Contains(double x, double y) const {
    return x >= min_x && x <= max_x && y >= min_y && y <= max_y;
  }
};

// A polygonal boundary (Polygon or MultiPolygon), with a prepared geometry
// for fast point tests.
class Boundary {
 public:
  ~Boundary();
  Boundary(const Boundary&) = delete;
  Boundary& operator=(const Boundary&) = delete;

  // Parses GeoJSON (a geometry, or a Feature holding one) and validates it:
  // a Polygon or MultiPolygon of closed, valid rings, no self-intersection,
  // longitude in [-180, 180] and latitude in [-90, 90].
  static absl::StatusOr<std::shared_ptr<const Boundary>> FromGeoJson(
      absl::string_view geojson);
  // Takes ownership of a GEOS geometry (generator); validates it too.
  static absl::StatusOr<std::shared_ptr<const Boundary>> FromGeos(
      GEOSGeometry* geometry);

  std::string ToGeoJson() const;
  double Area() const { return area_; }
  const Envelope& envelope() const { return envelope_; }
  // Point on the boundary counts as inside (callers break ties). GEOS
  // alone, without QuickCover: the brute-force answer the index is tested
  // against.
  bool Covers(double lon, double lat) const;
  // The same with a point made once per lookup (see MakePoint).
  bool CoversPoint(const GEOSGeometry* point, double lon, double lat) const;
  // The lookup's fast path, without GEOS: 1 the point is inside, -1
  // outside, 0 it lies within kEdgeTolerance of an edge or the boundary has
  // too many vertices for a linear test, and CoversPoint must decide.
  int QuickCover(double lon, double lat) const;
  // Whether the whole rectangle (edges included) lies within the boundary.
  bool CoversRectangle(const Envelope& r) const;
  // Area of this outside `other`, and of the overlap with `other`.
  double AreaOutside(const Boundary& other) const;
  double OverlapArea(const Boundary& other) const;
  const GEOSGeometry* geos() const { return geometry_; }

 private:
  Boundary(GEOSGeometry* geometry);
  GEOSGeometry* geometry_;
  const GEOSPreparedGeometry* prepared_;
  // Every ring as its point count followed by its points' x y (each ring
  // closed), in one block: a lookup pays one cache miss for all of it.
  // Empty above kMaxQuickVertices.
  std::vector<double> rings_;
  Envelope envelope_;
  double area_;
};

// A GEOS point for lookups; destroy with DestroyGeometry.
GEOSGeometry* MakePoint(double lon, double lat);
void DestroyGeometry(GEOSGeometry* g);

// Tolerance for "inside" and "no overlap": area below this fraction of the
// smaller shape is rounding along a shared edge, not a real overlap.
inline constexpr double kRelativeAreaTolerance = 1e-9;

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_DOMAIN_GEOMETRY_H_
