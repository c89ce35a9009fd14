#include "services/intake/domain/coordinates.h"

#include <cmath>

namespace wangge::intake {
namespace {

constexpr double kPi = 3.14159265358979324;
constexpr double kA = 6378245.0;  // Krasovsky 1940 semi-major axis
constexpr double kEe = 0.00669342162296594323;  // its eccentricity squared
constexpr double kXPi = kPi * 3000.0 / 180.0;

double TransformLat(double x, double y) {
  double r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y +
             0.2 * std::sqrt(std::fabs(x));
  r += (20.0 * std::sin(6.0 * x * kPi) + 20.0 * std::sin(2.0 * x * kPi)) * 2.0 /
       3.0;
  r += (20.0 * std::sin(y * kPi) + 40.0 * std::sin(y / 3.0 * kPi)) * 2.0 / 3.0;
  r += (160.0 * std::sin(y / 12.0 * kPi) + 320 * std::sin(y * kPi / 30.0)) *
       2.0 / 3.0;
  return r;
}

double TransformLon(double x, double y) {
  double r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y +
             0.1 * std::sqrt(std::fabs(x));
  r += (20.0 * std::sin(6.0 * x * kPi) + 20.0 * std::sin(2.0 * x * kPi)) * 2.0 /
       3.0;
  r += (20.0 * std::sin(x * kPi) + 40.0 * std::sin(x / 3.0 * kPi)) * 2.0 / 3.0;
  r += (150.0 * std::sin(x / 12.0 * kPi) + 300.0 * std::sin(x / 30.0 * kPi)) *
       2.0 / 3.0;
  return r;
}

}  // namespace

bool OutsideChina(LonLat p) {
  return p.lon < 72.004 || p.lon > 137.8347 || p.lat < 0.8293 ||
         p.lat > 55.8271;
}

LonLat Wgs84ToGcj02(LonLat p) {
  if (OutsideChina(p)) return p;
  double dlat = TransformLat(p.lon - 105.0, p.lat - 35.0);
  double dlon = TransformLon(p.lon - 105.0, p.lat - 35.0);
  const double radlat = p.lat / 180.0 * kPi;
  double magic = std::sin(radlat);
  magic = 1 - kEe * magic * magic;
  const double sqrt_magic = std::sqrt(magic);
  dlat = (dlat * 180.0) / ((kA * (1 - kEe)) / (magic * sqrt_magic) * kPi);
  dlon = (dlon * 180.0) / (kA / sqrt_magic * std::cos(radlat) * kPi);
  return {p.lon + dlon, p.lat + dlat};
}

LonLat Gcj02ToWgs84(LonLat p) {
  if (OutsideChina(p)) return p;
  // Fixed point: find w with Wgs84ToGcj02(w) == p.
  LonLat w = p;
  for (int i = 0; i < 30; ++i) {
    const LonLat g = Wgs84ToGcj02(w);
    const double dx = g.lon - p.lon, dy = g.lat - p.lat;
    w.lon -= dx;
    w.lat -= dy;
    if (std::fabs(dx) < 1e-12 && std::fabs(dy) < 1e-12) break;
  }
  return w;
}

LonLat Gcj02ToBd09(LonLat p) {
  const double z = std::sqrt(p.lon * p.lon + p.lat * p.lat) +
                   0.00002 * std::sin(p.lat * kXPi);
  const double theta =
      std::atan2(p.lat, p.lon) + 0.000003 * std::cos(p.lon * kXPi);
  return {z * std::cos(theta) + 0.0065, z * std::sin(theta) + 0.006};
}

LonLat Bd09ToGcj02(LonLat p) {
  const double x = p.lon - 0.0065, y = p.lat - 0.006;
  const double z = std::sqrt(x * x + y * y) - 0.00002 * std::sin(y * kXPi);
  const double theta = std::atan2(y, x) - 0.000003 * std::cos(x * kXPi);
  return {z * std::cos(theta), z * std::sin(theta)};
}

LonLat Bd09ToWgs84(LonLat p) { return Gcj02ToWgs84(Bd09ToGcj02(p)); }

}  // namespace wangge::intake
