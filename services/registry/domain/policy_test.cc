#include "services/registry/domain/policy.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/registry/generator/city_generator.h"

namespace wangge::registry {
namespace {

const absl::TimeZone kChina = absl::FixedTimeZone(8 * 3600);
absl::Time Local(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi), kChina);
}

v1::BusinessCalendar Calendar() {
  v1::BusinessCalendar c;
  c.set_time_zone("Asia/Shanghai");
  auto* am = c.add_periods();
  am->set_start("09:00");
  am->set_end("12:00");
  auto* pm = c.add_periods();
  pm->set_start("13:30");
  pm->set_end("17:30");
  // An example holiday week with its make-up days (调休).
  for (int d = 1; d <= 7; ++d) c.add_holidays(absl::StrCat("2024-10-0", d));
  c.add_make_up_days("2024-09-29");  // a Sunday worked
  c.add_make_up_days("2024-10-12");  // a Saturday worked
  c.set_example(true);
  return c;
}

TEST(DeadlineTest, WorkingHoursWeekendsHolidaysAndMakeUpDays) {
  const auto cal = Calendar();
  // Within one day, across lunch.
  EXPECT_EQ(*Deadline(cal, Local(2024, 9, 23, 10, 0), 240, true),
            Local(2024, 9, 23, 15, 30));
  // Starting during lunch counts from 13:30.
  EXPECT_EQ(*Deadline(cal, Local(2024, 9, 23, 12, 30), 30, true),
            Local(2024, 9, 23, 14, 0));
  // Friday evening over the weekend.
  EXPECT_EQ(*Deadline(cal, Local(2024, 9, 20, 16, 30), 120, true),
            Local(2024, 9, 23, 10, 0));
  // Into a make-up Sunday.
  EXPECT_EQ(*Deadline(cal, Local(2024, 9, 27, 17, 0), 60, true),
            Local(2024, 9, 29, 9, 30));
  // Over the National Day holiday week.
  EXPECT_EQ(*Deadline(cal, Local(2024, 9, 30, 17, 0), 60, true),
            Local(2024, 10, 8, 9, 30));
  // Started on a holiday, five working days (35 h) later.
  EXPECT_EQ(
      *Deadline(cal, Local(2024, 10, 3, 10, 0), 5 * 7 * 60, true),
      Local(2024, 10, 12, 17, 30));  // Tue 8 .. Fri 11, then make-up Sat 12
  // Emergencies count the wall clock.
  EXPECT_EQ(*Deadline(cal, Local(2024, 10, 1, 23, 0), 120, false),
            Local(2024, 10, 2, 1, 0));
}

TEST(DeadlineTest, TimeBetweenIsTheInverseOfDeadline) {
  const auto cal = Calendar();
  // Friday 16:30 to Monday 10:00: one hour on Friday, one on Monday.
  EXPECT_EQ(*TimeBetween(cal, Local(2024, 9, 20, 16, 30),
                         Local(2024, 9, 23, 10, 0), true),
            absl::Hours(2));
  // Lunch and nights do not count; a holiday week does not either.
  EXPECT_EQ(*TimeBetween(cal, Local(2024, 9, 30, 17, 0),
                         Local(2024, 10, 8, 9, 30), true),
            absl::Hours(1));
  // Wall clock for emergencies; a reversed interval is zero.
  EXPECT_EQ(*TimeBetween(cal, Local(2024, 10, 1, 23, 0),
                         Local(2024, 10, 2, 1, 0), false),
            absl::Hours(2));
  EXPECT_EQ(*TimeBetween(cal, Local(2024, 10, 2, 1, 0),
                         Local(2024, 10, 1, 23, 0), true),
            absl::ZeroDuration());
  // Round trip from awkward starts.
  for (absl::Time start : {Local(2024, 9, 23, 12, 45), Local(2024, 9, 28, 8, 0),
                           Local(2024, 10, 3, 10, 0)}) {
    for (absl::Duration d :
         {absl::Minutes(1), absl::Minutes(95), absl::Hours(30)}) {
      absl::Time due = *DeadlineAfter(cal, start, d, true);
      EXPECT_EQ(*TimeBetween(cal, start, due, true), d);
    }
  }
}

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    v1::DeploymentConfigured d;
    d.set_name("t");
    auto* l1 = d.add_levels();
    l1->set_name("district");
    l1->set_code_length(6);
    auto* l2 = d.add_levels();
    l2->set_name("street");
    l2->set_code_length(9);
    l2->set_parent_level("district");
    Apply(*DecideConfigureDeployment(state_, d));
    auto box = [](int x0, int x1) {
      return absl::StrCat(R"({"type":"Polygon","coordinates":[[[)", x0, ",0],[",
                          x1, ",0],[", x1, ",1],[", x0, ",1],[", x0, ",0]]]}");
    };
    Apply(*DecideCreateArea(
        state_, {"320508", "", "district", "Gusu", box(0, 4), 0, 0, t0_}));
    Apply(*DecideCreateArea(
        state_, {"320508001", "320508", "street", "A", box(0, 2), 0, 0, t0_}));
    Apply(*DecideCreateArea(
        state_, {"320508002", "320508", "street", "B", box(2, 4), 0, 0, t0_}));
    policy_.set_version("2024-1");
    *policy_.mutable_effective_time() = ToProto(t0_);
    auto add_class = [&](const char* code, const char* type) {
      auto* c = policy_.add_classes();
      c->set_code(code);
      c->set_name(code);
      c->set_department_type(type);
      c->set_active(true);
      auto* l = c->add_limits();
      l->set_urgency("ordinary");
      l->set_minutes(240);
      l->set_working_time(true);
    };
    add_class("event/05/0505", "urban_management");
    add_class("component/01/0101", "water");
    add_class("event/01/0102", "sanitation");
    *policy_.mutable_calendar() = Calendar();
    auto add_dept = [&](const char* id, const char* type, const char* area) {
      auto* d = policy_.add_departments();
      d->set_id(id);
      d->set_name(id);
      d->set_type(type);
      d->set_area_code(area);
    };
    add_dept("urban-district", "urban_management", "320508");
    add_dept("urban-street-a", "urban_management", "320508001");
    add_dept("traffic-police", "traffic_police", "320508");
    add_dept("water-co", "water", "320508");
    add_dept("street-b-office", "street_office", "320508002");
    // Illegal parking in street B goes to the traffic police.
    auto* rule = policy_.add_routing();
    rule->set_category_code("event/05/0505");
    rule->set_area_code("320508002");
    rule->set_department_type("traffic_police");
    auto* fb = policy_.add_fallbacks();
    fb->set_area_code("320508002");
    fb->set_department_id("street-b-office");
  }
  void Apply(const RegistryEvent& e) { ASSERT_TRUE(Evolve(state_, e).ok()); }
  std::string Field(const absl::Status& s) {
    auto v = status::FieldViolations(s);
    return v.empty() ? "" : v[0].field;
  }

  const absl::Time t0_ = Local(2024, 1, 1, 0, 0);
  RegistryState state_;
  v1::PolicyPublished policy_;
};

TEST_F(PolicyTest, RoutesByMostSpecificRuleThenTypeThenFallback) {
  Apply(*DecidePublishPolicy(state_, policy_));
  const absl::Time t = t0_ + absl::Hours(1);
  EXPECT_EQ(ResolveDepartment(state_, "event/05/0505", "320508001", "", t)
                ->department_id,
            "urban-street-a");  // the class's type, most specific department
  auto b = ResolveDepartment(state_, "event/05/0505", "320508002", "", t);
  EXPECT_EQ(b->department_id, "traffic-police");  // the street's rule
  EXPECT_FALSE(b->locality_fallback);
  EXPECT_EQ(b->policy_version, "2024-1");
  // No sanitation department anywhere: street B's locality fallback, flagged.
  auto fallback =
      ResolveDepartment(state_, "event/01/0102", "320508002", "", t);
  EXPECT_EQ(fallback->department_id, "street-b-office");
  EXPECT_TRUE(fallback->locality_fallback);
  // ...and street A has none.
  EXPECT_EQ(ResolveDepartment(state_, "event/01/0102", "320508001", "", t)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Field(ResolveDepartment(state_, "event/09/0901", "320508001", "", t)
                      .status()),
            "category_code");
  EXPECT_EQ(ResolveDepartment(state_, "event/05/0505", "320508001", "",
                              t0_ - absl::Hours(1))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // A component routes to its owner.
  v1::ComponentRegistered cover;
  cover.set_component_id("3205080101000001");  // a water-supply manhole cover
  cover.set_owner_department("water-co");
  cover.set_longitude(1);
  cover.set_latitude(0.5);
  *cover.mutable_effective_time() = ToProto(t);
  auto registered = DecideRegisterComponent(state_, cover);
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_EQ(std::get<v1::ComponentRegistered>(*registered).category_code(),
            "component/01/0101");
  Apply(*registered);
  EXPECT_EQ(ResolveDepartment(state_, "", "320508001", "3205080101000001", t)
                ->department_id,
            "water-co");
}

TEST_F(PolicyTest, InvalidPoliciesComponentsAndStaffNameTheField) {
  v1::PolicyPublished p = policy_;
  p.mutable_classes(0)->set_code("event/5/505");
  EXPECT_EQ(Field(DecidePublishPolicy(state_, p).status()), "classes[0].code");
  p = policy_;
  p.mutable_classes(1)->mutable_limits(0)->set_urgency("soon");
  EXPECT_EQ(Field(DecidePublishPolicy(state_, p).status()),
            "classes[1].limits[0].urgency");
  p = policy_;
  p.mutable_calendar()->mutable_periods(1)->set_start("11:00");
  EXPECT_EQ(Field(DecidePublishPolicy(state_, p).status()),
            "calendar.periods[1]");
  // Calendar days exactly as YYYY-MM-DD (they are matched as strings), none
  // both a holiday and a make-up day, and a real time zone.
  p = policy_;
  p.mutable_calendar()->add_holidays("2024-10-1");
  EXPECT_EQ(Field(DecidePublishPolicy(state_, p).status()),
            absl::StrCat("calendar.holidays[", p.calendar().holidays_size() - 1,
                         "]"));
  p = policy_;
  p.mutable_calendar()->add_holidays("2024-11-02");
  p.mutable_calendar()->add_make_up_days("2024-11-02");
  EXPECT_EQ(Field(DecidePublishPolicy(state_, p).status()),
            absl::StrCat("calendar.make_up_days[",
                         p.calendar().make_up_days_size() - 1, "]"));
  p = policy_;
  p.mutable_calendar()->set_time_zone("Asia/Shangai");
  EXPECT_EQ(Field(DecidePublishPolicy(state_, p).status()),
            "calendar.time_zone");
  p = policy_;
  p.mutable_calendar()->set_time_zone("Asia/Shanghai");
  EXPECT_TRUE(DecidePublishPolicy(state_, p).ok());
  p = policy_;
  p.mutable_departments(0)->set_area_code("999999");
  EXPECT_EQ(Field(DecidePublishPolicy(state_, p).status()),
            "departments[0].area_code");
  p = policy_;
  p.mutable_routing(0)->set_department_type("navy");
  EXPECT_EQ(Field(DecidePublishPolicy(state_, p).status()),
            "routing[0].department_type");
  Apply(*DecidePublishPolicy(state_, policy_));
  EXPECT_EQ(DecidePublishPolicy(state_, policy_).status().code(),
            absl::StatusCode::kAlreadyExists);

  v1::ComponentRegistered c;
  c.set_component_id("32050801010000X1");
  EXPECT_EQ(Field(DecideRegisterComponent(state_, c).status()), "component_id");
  c.set_component_id("1101010101000001");  // a district that does not exist
  EXPECT_EQ(Field(DecideRegisterComponent(state_, c).status()), "component_id");
  c.set_component_id(
      "3205080108500001");  // 6+2+3+5: minor 085, a local extension
  *c.mutable_effective_time() = ToProto(t0_ + absl::Hours(1));
  c.set_owner_department("nobody");
  EXPECT_EQ(Field(DecideRegisterComponent(state_, c).status()),
            "owner_department");
  EXPECT_EQ(*ComponentCategory("3205080108500001"), "component/01/01085");
  // Street lamps (0118) in the 6+2+2+6 layout read as minor 180 by digits
  // alone; the catalogue in force tells them apart.
  v1::PolicyPublished catalogue;
  catalogue.set_version("c1");
  catalogue.add_classes()->set_code("component/01/0118");
  EXPECT_EQ(*ComponentCategory("1101010118000001"), "component/01/01180");
  EXPECT_EQ(*ComponentCategory("1101010118000001", &catalogue),
            "component/01/0118");
  catalogue.add_classes()->set_code("component/01/01085");
  EXPECT_EQ(*ComponentCategory("3205080108500001", &catalogue),
            "component/01/01085");
  catalogue.add_classes()->set_code("component/01/01180");
  EXPECT_EQ(ComponentCategory("1101010118000001", &catalogue).status().code(),
            absl::StatusCode::kInvalidArgument);

  v1::StaffAssigned s;
  s.set_staff_id("w1");
  s.set_name("王五");
  s.set_role("grid_worker");
  s.add_area_codes("320508001");
  *s.mutable_start_time() = ToProto(t0_);
  *s.mutable_end_time() = ToProto(t0_ + absl::Hours(24 * 30));
  v1::StaffAssigned spaced = s;
  spaced.set_staff_id("w 1");  // becomes a stream name: refused as the field
  EXPECT_EQ(Field(DecideAssignStaff(state_, spaced).status()), "staff_id");
  Apply(*DecideAssignStaff(state_, s));
  v1::StaffAssigned next = s;
  next.set_staff_id("w2");
  *next.mutable_start_time() = ToProto(t0_ + absl::Hours(24 * 30));
  next.clear_end_time();
  Apply(*DecideAssignStaff(state_, next));
  // The grid keeps its record when its worker changes.
  EXPECT_EQ(StaffOf(state_, "320508001", "grid_worker", t0_ + absl::Hours(1))[0]
                .staff_id(),
            "w1");
  EXPECT_EQ(
      StaffOf(state_, "320508001", "grid_worker", t0_ + absl::Hours(24 * 31))[0]
          .staff_id(),
      "w2");
  EXPECT_TRUE(StaffOf(state_, "320508002", "grid_worker", t0_ + absl::Hours(1))
                  .empty());
  v1::StaffAssigned bad = s;
  bad.set_role("emperor");
  EXPECT_EQ(Field(DecideAssignStaff(state_, bad).status()), "role");
  bad = s;
  bad.set_role("department_handler");
  bad.set_department("nobody");
  EXPECT_EQ(Field(DecideAssignStaff(state_, bad).status()), "department");
}

// Who serves an area is found through its code's prefixes; the answer must
// be the one a walk over every staff member gives: for every area of the
// demo city, each role, and after posts changed (a supervisor moved to
// another area a month on, a worker's post ended).
TEST(StaffOfTest, PrefixLookupAnswersAsAWalkOfEveryStaffMember) {
  const absl::Time t0 = absl::FromUnixSeconds(1704067200);
  auto demo = GenerateDemo(1, t0);
  ASSERT_TRUE(demo.ok());
  RegistryState state;
  auto events = DecideImport(state, *demo);
  ASSERT_TRUE(events.ok()) << events.status();
  for (const auto& e : *events) ASSERT_TRUE(Evolve(state, e).ok());
  ASSERT_GT(state.staff.size(), 10u);

  std::vector<std::string> codes;
  for (const auto& [code, area] : state.areas) codes.push_back(code);
  std::sort(codes.begin(), codes.end());
  const auto first_of = [&](const std::string& role) -> v1::StaffAssigned {
    for (const auto& code : codes) {
      auto s = StaffOf(state, code, role, t0 + absl::Hours(1));
      if (!s.empty()) return s[0];
    }
    return v1::StaffAssigned();
  };
  v1::StaffAssigned moved = first_of("supervisor");
  ASSERT_FALSE(moved.staff_id().empty());
  moved.clear_area_codes();
  moved.add_area_codes(codes.back());
  *moved.mutable_start_time() = ToProto(t0 + absl::Hours(24 * 30));
  auto e = DecideAssignStaff(state, moved);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(Evolve(state, *e).ok());
  v1::StaffAssigned ended = first_of("grid_worker");
  ASSERT_FALSE(ended.staff_id().empty());
  *ended.mutable_start_time() = ToProto(t0 + absl::Hours(2));
  *ended.mutable_end_time() = ToProto(t0 + absl::Hours(24 * 20));
  e = DecideAssignStaff(state, ended);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_TRUE(Evolve(state, *e).ok());

  // The walk StaffOf used to be.
  const auto walk = [&](const std::string& area, const std::string& role,
                        absl::Time t) {
    std::vector<std::string> out;
    for (const auto& [id, history] : state.staff) {
      const v1::StaffAssigned* current = nullptr;
      for (const auto& a : history) {
        const absl::Time end =
            a.has_end_time() ? FromProto(a.end_time()) : absl::InfiniteFuture();
        if (FromProto(a.start_time()) <= t && t < end) current = &a;
      }
      if (current == nullptr || (!role.empty() && current->role() != role))
        continue;
      for (const auto& c : current->area_codes()) {
        if (absl::StartsWith(area, c)) {
          out.push_back(id);
          break;
        }
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  codes.push_back("999999");  // no such area
  size_t answered = 0;
  for (const absl::Time t : {t0 + absl::Hours(1), t0 + absl::Hours(24 * 25),
                             t0 + absl::Hours(24 * 40)}) {
    for (const auto& code : codes) {
      for (const std::string role :
           {"", "supervisor", "grid_worker", "micro_grid_worker"}) {
        std::vector<std::string> ids;
        for (const auto& s : StaffOf(state, code, role, t))
          ids.push_back(s.staff_id());
        ASSERT_EQ(ids, walk(code, role, t)) << code << " " << role << " " << t;
        answered += !ids.empty();
      }
    }
  }
  EXPECT_GT(answered, codes.size());  // most areas have someone
  // The move shows: the supervisor serves the new area a month on.
  std::vector<std::string> there;
  for (const auto& s : StaffOf(state, codes[codes.size() - 2], "supervisor",
                               t0 + absl::Hours(24 * 40)))
    there.push_back(s.staff_id());
  EXPECT_NE(std::find(there.begin(), there.end(), moved.staff_id()),
            there.end());
}

// A copy without boundaries (supervision's, dispatch's, oversight's) holds
// the same tree, history, policy and staff, and answers who serves an area
// and who handles a category there as the full one does.
TEST(StaffOfTest, AStateWithoutBoundariesAnswersAsTheFullOne) {
  const absl::Time t0 = absl::FromUnixSeconds(1704067200);
  auto demo = GenerateDemo(1, t0);
  ASSERT_TRUE(demo.ok());
  RegistryState full, lite;
  lite.keep_boundaries = false;
  auto events = DecideImport(full, *demo);
  ASSERT_TRUE(events.ok()) << events.status();
  for (const auto& e : *events) {
    ASSERT_TRUE(Evolve(full, e).ok());
    ASSERT_TRUE(Evolve(lite, e).ok());
  }
  ASSERT_EQ(lite.areas.size(), full.areas.size());
  const v1::PolicyPublished* policy = PolicyAt(full, t0 + absl::Hours(1));
  ASSERT_NE(policy, nullptr);
  size_t resolved = 0;
  for (const auto& [code, area] : full.areas) {
    const Area* other = lite.Find(code);
    ASSERT_NE(other, nullptr) << code;
    EXPECT_EQ(other->parent_code, area.parent_code);
    EXPECT_EQ(other->level, area.level);
    EXPECT_EQ(other->depth, area.depth);
    ASSERT_EQ(other->versions.size(), area.versions.size());
    for (size_t i = 0; i < area.versions.size(); ++i) {
      EXPECT_EQ(other->versions[i].from, area.versions[i].from);
      EXPECT_EQ(other->versions[i].to, area.versions[i].to);
      EXPECT_NE(area.versions[i].boundary, nullptr);
      EXPECT_EQ(other->versions[i].boundary, nullptr);
    }
    EXPECT_EQ(StaffOf(lite, code, "", t0 + absl::Hours(1)).size(),
              StaffOf(full, code, "", t0 + absl::Hours(1)).size());
    for (const auto& cls : policy->classes()) {
      auto a =
          ResolveDepartment(full, cls.code(), code, "", t0 + absl::Hours(1));
      auto b =
          ResolveDepartment(lite, cls.code(), code, "", t0 + absl::Hours(1));
      ASSERT_EQ(a.ok(), b.ok()) << code << " " << cls.code();
      if (!a.ok()) continue;
      EXPECT_EQ(a->department_id, b->department_id);
      EXPECT_EQ(a->locality_fallback, b->locality_fallback);
      ++resolved;
    }
  }
  EXPECT_GT(resolved, full.areas.size());
}

}  // namespace
}  // namespace wangge::registry
