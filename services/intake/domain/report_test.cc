#include "services/intake/domain/report.h"

#include <cmath>

#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/intake/domain/coordinates.h"
#include "services/registry/generator/city_generator.h"

namespace wangge::intake {
namespace {

const absl::Time kT0 =
    absl::FromCivil(absl::CivilDay(2024, 1, 1), absl::UTCTimeZone());
const absl::Time kNow = kT0 + absl::Hours(24 * 100);

double Metres(LonLat a, LonLat b) {
  const double dy = (a.lat - b.lat) * 111320.0;
  const double dx = (a.lon - b.lon) * 111320.0 * std::cos(a.lat * M_PI / 180);
  return std::sqrt(dx * dx + dy * dy);
}

TEST(CoordinatesTest, RoundTripsAndMagnitudes) {
  for (LonLat p : {LonLat{116.397, 39.908}, LonLat{104.066, 30.657},
                   LonLat{121.47, 31.23}, LonLat{111.29, 30.70}}) {
    const LonLat gcj = Wgs84ToGcj02(p);
    // GCJ-02 moves points in China by a few hundred metres.
    EXPECT_GT(Metres(p, gcj), 100);
    EXPECT_LT(Metres(p, gcj), 1000);
    EXPECT_LT(Metres(Gcj02ToWgs84(gcj), p), 0.001);  // inversion below 1 mm
    const LonLat bd = Gcj02ToBd09(gcj);
    EXPECT_GT(Metres(bd, gcj), 100);
    EXPECT_LT(Metres(Bd09ToGcj02(bd), gcj), 0.5);
    EXPECT_LT(Metres(Bd09ToWgs84(bd), p), 0.5);
  }
  const LonLat paris{2.35, 48.85};
  EXPECT_EQ(Wgs84ToGcj02(paris).lon, paris.lon);
  EXPECT_EQ(Gcj02ToWgs84(paris).lat, paris.lat);
}

// Reference points published with independent implementations:
// eviltransform's WGS84 -> GCJ-02 vectors (googollee/eviltransform and its
// ports) and coordtransform's (wandergis/coordtransform, as used by hutool
// and coordtransform-rs). Forward transforms agree to 1e-9°. (eviltransform's
// BD-09 vectors differ from every other implementation by tens of metres: it
// defines the BD step differently, so they are not used.)
TEST(CoordinatesTest, PublishedReferencePoints) {
  struct Pair {
    LonLat wgs, gcj;
  };
  for (const Pair& p :
       {Pair{{121.5272106, 31.1774276}, {121.531541859215, 31.17530398364597}},
        Pair{{113.912316, 22.543847}, {113.9171764808363, 22.540796131694766}},
        Pair{{116.377817, 39.911954}, {116.38404722455657, 39.91334545536069}},
        Pair{{116.404, 39.915}, {116.41024449916938, 39.91640428150164}}}) {
    const LonLat gcj = Wgs84ToGcj02(p.wgs);
    EXPECT_NEAR(gcj.lon, p.gcj.lon, 1e-9);
    EXPECT_NEAR(gcj.lat, p.gcj.lat, 1e-9);
  }
  // coordtransform: GCJ-02 <-> BD-09 at (116.404, 39.915).
  const LonLat bd = Gcj02ToBd09({116.404, 39.915});
  EXPECT_NEAR(bd.lon, 116.41036949371029, 1e-9);
  EXPECT_NEAR(bd.lat, 39.92133699351021, 1e-9);
  const LonLat gcj = Bd09ToGcj02({116.404, 39.915});
  EXPECT_NEAR(gcj.lon, 116.39762729119315, 1e-9);
  EXPECT_NEAR(gcj.lat, 39.90865673957631, 1e-9);
  // The inverse: coordtransform's GCJ-02 -> WGS84 at (116.404, 39.915) is a
  // one-step approximation; ours iterates to the exact inverse, so they
  // agree to 2e-6° (about 0.2 m).
  const LonLat wgs = Gcj02ToWgs84({116.404, 39.915});
  EXPECT_NEAR(wgs.lon, 116.39775550083061, 2e-6);
  EXPECT_NEAR(wgs.lat, 39.91359571849836, 2e-6);
}

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = registry::GenerateDemo(1, kT0);
    ASSERT_TRUE(d.ok());
    auto events = registry::DecideImport(state_, *d);
    ASSERT_TRUE(events.ok());
    for (const auto& e : *events) ASSERT_TRUE(registry::Evolve(state_, e).ok());
    index_ = std::make_unique<registry::AreaIndex>(state_);
    // A point inside some micro-grid.
    for (const auto& [code, area] : state_.areas) {
      if (area.level != "micro_grid") continue;
      const auto& env = area.versions[0].boundary->envelope();
      for (double f = 0.3; f < 0.8; f += 0.05) {
        LonLat p{env.min_x + f * (env.max_x - env.min_x),
                 env.min_y + f * (env.max_y - env.min_y)};
        auto at = index_->Locate(p.lon, p.lat, kNow);
        if (at.ok() && at->code == code) {
          inside_ = p;
          micro_grid_ = code;
          return;
        }
      }
    }
    FAIL() << "no micro-grid point";
  }

  v1::ReportCaseRequest Valid() {
    v1::ReportCaseRequest r;
    r.set_request_id("req-1");
    r.set_category_code("event/05/0505");
    r.set_description("机动车乱停放 illegal parking at the gate");
    auto* p = r.mutable_location()->mutable_point();
    p->set_longitude(inside_.lon);
    p->set_latitude(inside_.lat);
    p->set_coordinate_system(common::v1::COORDINATE_SYSTEM_WGS84);
    auto* m = r.add_media();
    m->set_uri("https://media.example/1.jpg");
    m->set_sha256(std::string(64, 'a'));
    return r;
  }

  absl::StatusOr<v1::ReportReceived> Decide(
      const v1::ReportCaseRequest& r, const std::string& channel = "12345",
      common::v1::Role role = common::v1::ROLE_CHANNEL) {
    ReportInput in;
    in.request = &r;
    in.actor.set_subject("hotline-system");
    in.actor.set_role(role);
    in.actor.set_channel(channel);
    in.now = kNow;
    in.case_id = "C20240411-TEST0001";
    in.registry = &state_;
    in.index = index_.get();
    return DecideReport(in);
  }

  std::vector<std::string> Fields(const absl::Status& s) {
    std::vector<std::string> out;
    for (const auto& v : status::FieldViolations(s)) out.push_back(v.field);
    return out;
  }

  registry::RegistryState state_;
  std::unique_ptr<registry::AreaIndex> index_;
  LonLat inside_;
  std::string micro_grid_;
};

TEST_F(ReportTest, ValidReportFindsTheSmallestArea) {
  auto e = Decide(Valid());
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->area_code(), micro_grid_);
  EXPECT_EQ(e->source(), v1::REPORT_SOURCE_HOTLINE_12345);
  EXPECT_EQ(e->case_id(), "C20240411-TEST0001");
  EXPECT_EQ(e->reporter_subject(), "hotline-system");
  EXPECT_EQ(FromProto(e->observed_time()), kNow);
}

TEST_F(ReportTest, GcjAndBdPointsAreConvertedToTheSameArea) {
  v1::ReportCaseRequest r = Valid();
  const LonLat gcj = Wgs84ToGcj02(inside_);
  r.mutable_location()->mutable_point()->set_longitude(gcj.lon);
  r.mutable_location()->mutable_point()->set_latitude(gcj.lat);
  r.mutable_location()->mutable_point()->set_coordinate_system(
      common::v1::COORDINATE_SYSTEM_GCJ02);
  auto e = Decide(r);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->area_code(), micro_grid_);
  EXPECT_NEAR(e->point().longitude(), inside_.lon, 1e-8);
  const LonLat bd = Gcj02ToBd09(gcj);
  r.mutable_location()->mutable_point()->set_longitude(bd.lon);
  r.mutable_location()->mutable_point()->set_latitude(bd.lat);
  r.mutable_location()->mutable_point()->set_coordinate_system(
      common::v1::COORDINATE_SYSTEM_BD09);
  e = Decide(r);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->area_code(), micro_grid_);
}

TEST_F(ReportTest, ComponentGivesLocationAndClass) {
  const auto& [id, component] = *state_.components.begin();
  v1::ReportCaseRequest r = Valid();
  r.clear_category_code();
  r.mutable_location()->set_component_id(id);
  auto e = Decide(r);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->category_code(), "component/01/0101");
  EXPECT_EQ(e->component_id(), id);
  EXPECT_EQ(
      e->area_code(),
      index_->Locate(component.longitude(), component.latitude(), kNow)->code);
  r.mutable_location()->set_component_id(
      "5101010101999999");  // a known class, unregistered
  EXPECT_EQ(Fields(Decide(r).status()),
            std::vector<std::string>{"location.component_id"});
}

TEST_F(ReportTest, SourceComesFromTheToken) {
  EXPECT_EQ(Decide(Valid(), "app")->source(), v1::REPORT_SOURCE_PUBLIC_APP);
  EXPECT_EQ(Decide(Valid(), "gov:city-brain")->source(),
            v1::REPORT_SOURCE_GOVERNMENT_SYSTEM);
  EXPECT_EQ(Decide(Valid(), "sensor:manhole-17")->source(),
            v1::REPORT_SOURCE_SENSOR);
  EXPECT_EQ(Decide(Valid(), "", common::v1::ROLE_SUPERVISOR)->source(),
            v1::REPORT_SOURCE_SUPERVISOR);
  auto unknown = Decide(Valid(), "fax");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(status::DeniedRule(unknown.status()), "unknown_channel");
}

TEST_F(ReportTest, EveryInvalidFieldIsNamed) {
  v1::ReportCaseRequest r = Valid();
  r.clear_request_id();
  r.set_category_code("event/05/0601");
  r.clear_description();
  r.mutable_media(0)->set_sha256("abc");
  *r.mutable_observed_time() = ToProto(kNow + absl::Hours(1));
  r.mutable_reporter()->set_phone("12");
  auto e = Decide(r);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Fields(e.status()),
            (std::vector<std::string>{"request_id", "category_code",
                                      "description", "media[0].sha256",
                                      "observed_time", "reporter.phone"}));
  // At most 20 media references (each event is kept for ever).
  v1::ReportCaseRequest many = Valid();
  while (many.media_size() <= 20) *many.add_media() = many.media(0);
  EXPECT_EQ(Fields(Decide(many).status()), std::vector<std::string>{"media"});
  // A supervisor does not send a citizen's contact.
  v1::ReportCaseRequest staff = Valid();
  staff.mutable_reporter()->set_phone("13800000000");
  EXPECT_EQ(Fields(Decide(staff, "", common::v1::ROLE_SUPERVISOR).status()),
            std::vector<std::string>{"reporter"});
  v1::ReportCaseRequest far = Valid();
  far.mutable_location()->mutable_point()->set_longitude(90.0);
  EXPECT_EQ(Fields(Decide(far).status()),
            std::vector<std::string>{"location.point"});
  v1::ReportCaseRequest no_system = Valid();
  no_system.mutable_location()->mutable_point()->clear_coordinate_system();
  EXPECT_EQ(Fields(Decide(no_system).status()),
            std::vector<std::string>{"location.point.coordinate_system"});
  v1::ReportCaseRequest area = Valid();
  area.mutable_location()->set_area_code("999999");
  EXPECT_EQ(Fields(Decide(area).status()),
            std::vector<std::string>{"location.area_code"});
  area.mutable_location()->set_area_code(micro_grid_);
  EXPECT_EQ(Decide(area)->area_code(), micro_grid_);
  // Before the deployment existed there was no catalogue either.
  v1::ReportCaseRequest past = Valid();
  *past.mutable_observed_time() = ToProto(kT0 - absl::Hours(1));
  EXPECT_EQ(Decide(past).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Well-formed but not in the catalogue.
  v1::ReportCaseRequest unknown = Valid();
  unknown.set_category_code("event/09/0999");
  EXPECT_EQ(Fields(Decide(unknown).status()),
            std::vector<std::string>{"category_code"});
}

}  // namespace
}  // namespace wangge::intake
