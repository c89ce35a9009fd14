#ifndef WANGGE_SERVICES_INTAKE_DOMAIN_COORDINATES_H_
#define WANGGE_SERVICES_INTAKE_DOMAIN_COORDINATES_H_

// Chinese map coordinate systems to WGS84. GCJ-02 (火星坐标: Gaode,
// Tencent) is WGS84 shifted by the published national obfuscation formula,
// hundreds of metres inside China and zero outside; BD-09 (Baidu) is a
// further shift of GCJ-02. GCJ-02 -> WGS84 has no closed form: it is
// inverted by fixed-point iteration to well under a millimetre.

namespace wangge::intake {

struct LonLat {
  double lon;
  double lat;
};

bool OutsideChina(LonLat p);
LonLat Wgs84ToGcj02(LonLat p);
LonLat Gcj02ToWgs84(LonLat p);
LonLat Gcj02ToBd09(LonLat p);
LonLat Bd09ToGcj02(LonLat p);
LonLat Bd09ToWgs84(LonLat p);

}  // namespace wangge::intake

#endif  // WANGGE_SERVICES_INTAKE_DOMAIN_COORDINATES_H_
