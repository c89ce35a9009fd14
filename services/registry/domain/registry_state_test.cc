#include "services/registry/domain/registry_state.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/status/errors.h"
#include "services/registry/domain/area_code.h"

namespace wangge::registry {
namespace {

const absl::Time kT0 =
    absl::FromCivil(absl::CivilDay(2024, 1, 1), absl::UTCTimeZone());

std::string Box(double x0, double y0, double x1, double y1) {
  return absl::StrCat(R"({"type":"Polygon","coordinates":[[[)", x0, ",", y0,
                      "],[", x1, ",", y0, "],[", x1, ",", y1, "],[", x0, ",",
                      y1, "],[", x0, ",", y0, "]]]}");
}

v1::DeploymentConfigured Dongcheng() {
  v1::DeploymentConfigured d;
  d.set_name("dongcheng");
  auto add = [&](const char* name, int len, const char* parent,
                 bool dedicated = false) {
    auto* l = d.add_levels();
    l->set_name(name);
    l->set_code_length(len);
    l->set_parent_level(parent);
    l->set_dedicated(dedicated);
  };
  add("district", 6, "");
  add("street", 9, "district");
  add("community", 12, "street");
  add("unit_grid", 15, "community");
  return d;
}

CreateArea Make(const std::string& code, const std::string& parent,
                const std::string& level, const std::string& boundary,
                absl::Time t = kT0) {
  return {code, parent, level, "n", boundary, 10, 30, t};
}

class RegistryStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Apply(*DecideConfigureDeployment(state_, Dongcheng()));
    Apply(*DecideCreateArea(state_,
                            Make("110101", "", "district", Box(0, 0, 10, 10))));
    Apply(*DecideCreateArea(
        state_, Make("110101001", "110101", "street", Box(0, 0, 10, 5))));
    Apply(*DecideCreateArea(state_, Make("110101001001", "110101001",
                                         "community", Box(0, 0, 5, 5))));
  }
  void Apply(const RegistryEvent& e) { ASSERT_TRUE(Evolve(state_, e).ok()); }
  std::string Field(const absl::Status& s) {
    auto v = status::FieldViolations(s);
    return v.empty() ? "" : v[0].field;
  }
  RegistryState state_;
};

TEST(AreaCodeTest, SignificantAndPaddedForms) {
  EXPECT_EQ(*NormalizeAreaCode("110101001", 9), "110101001");
  EXPECT_EQ(*NormalizeAreaCode("110101001000", 9), "110101001");
  EXPECT_EQ(*NormalizeAreaCode("110101000000", 6), "110101");
  EXPECT_EQ(*NormalizeAreaCode("110101001002", 12), "110101001002");
  EXPECT_FALSE(NormalizeAreaCode("110101001002", 9).ok());  // not padding
  EXPECT_FALSE(NormalizeAreaCode("11010100", 9).ok());
  EXPECT_FALSE(NormalizeAreaCode("11010100A", 9).ok());
  EXPECT_FALSE(NormalizeAreaCode("", 6).ok());
  EXPECT_TRUE(CheckChildCode("110101001", "110101").ok());
  EXPECT_FALSE(CheckChildCode("110102001", "110101").ok());
  EXPECT_FALSE(CheckChildCode("110101", "110101").ok());
  EXPECT_FALSE(CheckChildCode("110101000", "110101").ok());  // padded form
  EXPECT_TRUE(CheckChildCode("110101100", "110101").ok());
}

TEST_F(RegistryStateTest, CreatesWithHistoryAndPaddedParentCodes) {
  auto e = DecideCreateArea(state_, Make("110101001001001",
                                         "110101001001000000"
                                         "",
                                         "unit_grid", Box(0, 0, 2, 2)));
  // A 18-digit parent is no form of a community code.
  EXPECT_EQ(Field(e.status()), "parent_code");
  // The padded 12-digit statistical form of the street is accepted.
  auto c = DecideCreateArea(state_, Make("110101001002", "110101001000",
                                         "community", Box(5, 0, 10, 5)));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(std::get<v1::AreaCreated>(*c).parent_code(), "110101001");
  Apply(*c);
  EXPECT_EQ(state_.Find("110101001002")->depth, 2);
}

TEST_F(RegistryStateTest, EveryInvalidInputHasItsOwnError) {
  // Unknown level.
  EXPECT_EQ(Field(DecideCreateArea(state_, Make("110101001002", "110101001",
                                                "hamlet", Box(5, 0, 10, 5)))
                      .status()),
            "level");
  // Code of the wrong length; not extending the parent's.
  EXPECT_EQ(Field(DecideCreateArea(state_, Make("1101010012", "110101001",
                                                "community", Box(5, 0, 10, 5)))
                      .status()),
            "code");
  EXPECT_EQ(Field(DecideCreateArea(state_, Make("110102001002", "110101001",
                                                "community", Box(5, 0, 10, 5)))
                      .status()),
            "code");
  // Parent missing; parent of the wrong level.
  EXPECT_EQ(Field(DecideCreateArea(state_, Make("110101009002", "110101009",
                                                "community", Box(5, 0, 10, 5)))
                      .status()),
            "parent_code");
  // Already exists.
  EXPECT_EQ(DecideCreateArea(state_, Make("110101001001", "110101001",
                                          "community", Box(5, 0, 10, 5)))
                .status()
                .code(),
            absl::StatusCode::kAlreadyExists);
  // Unclosed ring, self-intersection, not a polygon, out of range.
  const char* unclosed =
      R"({"type":"Polygon","coordinates":[[[5,0],[10,0],[10,5],[5,5]]]})";
  const char* bowtie =
      R"({"type":"Polygon","coordinates":[[[5,0],[10,5],[10,0],[5,5],[5,0]]]})";
  const char* line = R"({"type":"LineString","coordinates":[[5,0],[10,5]]})";
  for (const char* bad : {unclosed, bowtie, line, "{not json", ""}) {
    auto s = DecideCreateArea(
        state_, Make("110101001002", "110101001", "community", bad));
    EXPECT_EQ(Field(s.status()), "boundary") << bad << " -> " << s.status();
  }
  auto bowtie_error = DecideCreateArea(
      state_, Make("110101001002", "110101001", "community", bowtie));
  EXPECT_NE(bowtie_error.status().message().find("Self-intersection"),
            std::string::npos)
      << bowtie_error.status();
  // Outside the parent; overlapping a sibling.
  auto outside = DecideCreateArea(
      state_, Make("110101001002", "110101001", "community", Box(5, 0, 11, 5)));
  EXPECT_EQ(Field(outside.status()), "boundary");
  EXPECT_NE(outside.status().message().find("outside parent"),
            std::string::npos);
  auto overlap = DecideCreateArea(
      state_, Make("110101001002", "110101001", "community", Box(4, 0, 10, 5)));
  EXPECT_EQ(Field(overlap.status()), "boundary");
  EXPECT_NE(overlap.status().message().find("overlaps sibling 110101001001"),
            std::string::npos);
  // Before the parent existed.
  EXPECT_EQ(
      DecideCreateArea(state_, Make("110101001002", "110101001", "community",
                                    Box(5, 0, 10, 5), kT0 - absl::Hours(1)))
          .status()
          .code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST_F(RegistryStateTest, RedrawRetireSplitMergeKeepHistory) {
  const absl::Time t1 = kT0 + absl::Hours(24 * 30);
  // A redraw that would leave the community outside is refused.
  EXPECT_EQ(
      Field(
          DecideRedrawArea(state_, "110101001", Box(0, 0, 4, 5), t1).status()),
      "boundary");
  Apply(*DecideRedrawArea(state_, "110101001001", Box(0, 0, 4, 5), t1));
  const Area* c = state_.Find("110101001001");
  EXPECT_EQ(c->VersionAt(kT0)->boundary->Area(), 25);
  EXPECT_EQ(c->VersionAt(t1)->boundary->Area(), 20);
  // Retiring a street with communities in force is refused.
  EXPECT_EQ(DecideRetireArea(state_, "110101001", t1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Split the community in two, then merge them back under a new code.
  const absl::Time t2 = t1 + absl::Hours(24);
  auto split = DecideSplitArea(state_, "110101001001",
                               {Make("110101001003", "", "", Box(0, 0, 2, 5)),
                                Make("110101001004", "", "", Box(2, 0, 4, 5))},
                               t2);
  ASSERT_TRUE(split.ok()) << split.status();
  ASSERT_EQ(split->size(), 3u);
  EXPECT_EQ(std::get<v1::AreaRetired>((*split)[0]).replaced_by_size(), 2);
  for (const auto& e : *split) Apply(e);
  EXPECT_FALSE(state_.Find("110101001001")->ActiveAt(t2));
  EXPECT_TRUE(state_.Find("110101001001")->ActiveAt(t1));
  const absl::Time t3 = t2 + absl::Hours(24);
  auto merge =
      DecideMergeAreas(state_, {"110101001003", "110101001004"},
                       Make("110101001005", "", "", Box(0, 0, 4, 5)), t3);
  ASSERT_TRUE(merge.ok()) << merge.status();
  for (const auto& e : *merge) Apply(e);
  EXPECT_TRUE(state_.Find("110101001005")->ActiveAt(t3));
  // A split part overlapping a live sibling names the part.
  Apply(*DecideCreateArea(state_, Make("110101001006", "110101001", "community",
                                       Box(5, 0, 10, 5), t3)));
  auto bad = DecideSplitArea(state_, "110101001005",
                             {Make("110101001007", "", "", Box(0, 0, 2, 5)),
                              Make("110101001008", "", "", Box(2, 0, 6, 5))},
                             t3 + absl::Hours(1));
  EXPECT_EQ(Field(bad.status()), "parts[1].boundary");
}

// History may be recorded out of order: every rule holds from the effective
// time on, not at that instant alone.
TEST_F(RegistryStateTest, RulesHoldForEveryLaterMomentToo) {
  const absl::Time june = kT0 + absl::Hours(24 * 150);
  // A community from June, then one from January over the same ground:
  // they would overlap from June.
  Apply(*DecideCreateArea(state_, Make("110101001002", "110101001", "community",
                                       Box(5, 0, 10, 5), june)));
  EXPECT_EQ(Field(DecideCreateArea(
                      state_, Make("110101001003", "110101001", "community",
                                   Box(6, 0, 9, 5), kT0 + absl::Hours(1)))
                      .status()),
            "boundary");
  // Retiring the street before that June community begins: refused.
  EXPECT_EQ(DecideRetireArea(state_, "110101001", june - absl::Hours(1))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // A retirement before a redraw already recorded for later: refused (the
  // later boundary would stay in force).
  const absl::Time t2 = june + absl::Hours(24);
  Apply(*DecideRedrawArea(state_, "110101001001", Box(0, 0, 4, 5), t2));
  EXPECT_EQ(DecideRetireArea(state_, "110101001001", t2 - absl::Hours(1))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(
      DecideRetireArea(state_, "110101001001", t2 + absl::Hours(1)).ok());
}

// An export taken after a parent was redrawn (its boundary now starts after
// its child's) imports into an empty registry and answers the same.
TEST_F(RegistryStateTest, AnExportAfterARedrawReimports) {
  const absl::Time t1 = kT0 + absl::Hours(24 * 30);
  Apply(*DecideRedrawArea(state_, "110101001", Box(0, 0, 10, 6), t1));
  const absl::Time t2 = t1 + absl::Hours(24);
  Deployment exported = ExportDeployment(state_, t2);
  RegistryState fresh;
  auto events = DecideImport(fresh, exported);
  ASSERT_TRUE(events.ok()) << events.status();
  for (const auto& e : *events) ASSERT_TRUE(Evolve(fresh, e).ok());
  for (const char* code : {"110101", "110101001", "110101001001"}) {
    ASSERT_NE(fresh.Find(code), nullptr) << code;
    EXPECT_EQ(fresh.Find(code)->VersionAt(t2)->boundary->ToGeoJson(),
              state_.Find(code)->VersionAt(t2)->boundary->ToGeoJson())
        << code;
  }
}

TEST_F(RegistryStateTest, ImportIsAllOrNothingAndNamesThePosition) {
  RegistryState empty;
  Deployment d;
  d.config = Dongcheng();
  d.areas = {Make("110102", "", "district", Box(20, 20, 30, 30)),
             Make("110102001", "110102", "street", Box(20, 20, 25, 30)),
             Make("110102002", "110102", "street", Box(24, 20, 30, 30))};
  auto result = DecideImport(empty, d);
  EXPECT_EQ(Field(result.status()), "areas[2].boundary");
  d.areas.back().boundary_geojson = Box(25, 20, 30, 30);
  result = DecideImport(empty, d);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->size(), 4u);  // configured + 3 areas
  EXPECT_EQ(StreamOf((*result)[0]), "deployment");
  EXPECT_EQ(StreamOf((*result)[1]), "area/110102");
}

TEST(DeploymentTest, LevelsAreChecked) {
  RegistryState s;
  v1::DeploymentConfigured d = Dongcheng();
  d.mutable_levels(2)->set_parent_level("nowhere");
  EXPECT_FALSE(DecideConfigureDeployment(s, d).ok());
  d = Dongcheng();
  d.mutable_levels(3)->set_code_length(11);
  EXPECT_FALSE(DecideConfigureDeployment(s, d).ok());
  EXPECT_FALSE(
      DecideCreateArea(s, Make("110101", "", "district", Box(0, 0, 1, 1)))
          .ok());
}

}  // namespace
}  // namespace wangge::registry
