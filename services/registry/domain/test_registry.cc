#include "services/registry/domain/test_registry.h"

#include "absl/strings/str_cat.h"
#include "services/common/clock/proto_time.h"
#include "services/registry/generator/city_generator.h"

namespace wangge::registry::testing {

absl::Time Local(int y, int mo, int d, int h, int mi) {
  return absl::FromCivil(absl::CivilMinute(y, mo, d, h, mi),
                         absl::FixedTimeZone(8 * 3600));
}

std::vector<RegistryEvent> TestRegistryEvents() {
  std::vector<RegistryEvent> events;
  v1::PolicyPublished p;
  p.set_version("policy-2024");
  *p.mutable_effective_time() = ToProto(Local(2024, 1, 1, 0, 0));
  auto* cal = p.mutable_calendar();
  cal->set_time_zone("Asia/Shanghai");
  auto* am = cal->add_periods();
  am->set_start("09:00");
  am->set_end("12:00");
  auto* pm = cal->add_periods();
  pm->set_start("13:30");
  pm->set_end("17:30");
  for (int d = 1; d <= 7; ++d) cal->add_holidays(absl::StrCat("2024-10-0", d));
  cal->add_make_up_days("2024-09-29");
  cal->add_make_up_days("2024-10-12");
  auto add_class = [&](const char* code, const char* type, bool extension,
                       std::vector<std::tuple<const char*, int, bool>> limits) {
    auto* c = p.add_classes();
    c->set_code(code);
    c->set_name(code);
    c->set_department_type(type);
    c->set_extension_allowed(extension);
    c->set_active(true);
    c->add_filing_criteria("visible");
    for (const auto& [urgency, minutes, working] : limits) {
      auto* l = c->add_limits();
      l->set_urgency(urgency);
      l->set_minutes(minutes);
      l->set_working_time(working);
    }
  };
  add_class(kRubbish, "sanitation", false, {{"ordinary", 240, true}});
  add_class(kGreeneryCare, "greenery", true, {{"ordinary", 5 * 7 * 60, true}});
  add_class(kManhole, "municipal", false,
            {{"ordinary", 240, true}, {"emergency", 120, false}});
  auto add_department = [&](const char* id, const char* type) {
    auto* d = p.add_departments();
    d->set_id(id);
    d->set_name(id);
    d->set_type(type);
    d->set_area_code("110101");
  };
  add_department(kSanitation, "sanitation");
  add_department(kGreenery, "greenery");
  add_department(kStreetOffice, "street_office");
  auto* fallback = p.add_fallbacks();
  fallback->set_area_code("110101");
  fallback->set_department_id(kStreetOffice);
  events.push_back(p);
  auto add_staff = [&](const char* id, const char* role, const char* dept) {
    v1::StaffAssigned s;
    s.set_staff_id(id);
    s.set_name(id);
    s.set_role(role);
    s.set_full_time(true);
    s.add_area_codes(kCommunity);
    s.set_department(dept);
    *s.mutable_start_time() = ToProto(Local(2024, 1, 1, 0, 0));
    events.push_back(s);
  };
  add_staff("sup-1", "supervisor", "");
  add_staff("sup-2", "supervisor", "");
  add_staff("lead-1", "shift_leader", "");
  add_staff("han-1", "department_handler", kSanitation);
  return events;
}

RegistryState TestRegistry() {
  RegistryState state;
  for (const auto& e : TestRegistryEvents()) (void)Evolve(state, e);
  return state;
}

std::vector<common::v1::EventEnvelope> TestRegistryEnvelopes() {
  return Envelopes(TestRegistryEvents());
}

std::vector<common::v1::EventEnvelope> DemoEnvelopes(uint64_t seed,
                                                     absl::Time as_of,
                                                     size_t* areas) {
  auto demo = GenerateDemo(seed, as_of);
  if (!demo.ok()) return {};
  if (areas != nullptr) *areas = demo->areas.size();
  RegistryState scratch;
  auto events = DecideImport(scratch, *demo);
  if (!events.ok()) return {};
  return Envelopes(*events);
}

std::vector<common::v1::EventEnvelope> Envelopes(
    const std::vector<RegistryEvent>& events) {
  std::vector<common::v1::EventEnvelope> out;
  for (const auto& e : events) {
    common::v1::EventEnvelope env;
    const auto& payload = PayloadOf(e);
    env.set_event_type(payload.GetDescriptor()->full_name());
    env.set_stream_id(StreamOf(e));
    env.set_source_service("registry");
    env.set_partition(0);
    env.set_sequence(out.size() + 1);
    env.mutable_payload()->set_value(payload.SerializeAsString());
    out.push_back(std::move(env));
  }
  return out;
}

}  // namespace wangge::registry::testing
