#include "services/registry/domain/policy.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <regex>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/ids.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"

namespace wangge::registry {
bool IsCategory(const std::string& code) {
  static const std::regex kCategory(R"((event|component)/(\d{2})/(\d{4,5}))");
  std::smatch m;
  return std::regex_match(code, m, kCategory) &&
         m[3].str().substr(0, 2) == m[2].str();
}

namespace {

using status::InvalidField;

absl::TimeZone LoadZone(const std::string& name) {
  absl::TimeZone tz;
  if (absl::LoadTimeZone(name, &tz)) return tz;
  // China has kept UTC+8 without daylight saving since 1991.
  return absl::FixedTimeZone(8 * 3600);
}

bool ParseClock(const std::string& hhmm, int* minutes) {
  std::vector<std::string> parts = absl::StrSplit(hhmm, ':');
  int h, m;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &h) ||
      !absl::SimpleAtoi(parts[1], &m) || h < 0 || h > 24 || m < 0 || m > 59 ||
      (h == 24 && m != 0)) {
    return false;
  }
  *minutes = h * 60 + m;
  return true;
}

// Exactly YYYY-MM-DD: days are matched as these strings, so "2024-10-1"
// (which absl parses) would be accepted and never match.
bool ParseDay(const std::string& text, absl::CivilDay* day) {
  return absl::ParseCivilTime(text, day) && absl::FormatCivilTime(*day) == text;
}

std::string DayString(absl::CivilDay d) { return absl::FormatCivilTime(d); }

}  // namespace

const v1::PolicyPublished* PolicyAt(const RegistryState& state, absl::Time t) {
  const v1::PolicyPublished* found = nullptr;
  for (const auto& p : state.policies) {
    if (FromProto(p.effective_time()) <= t) found = &p;
  }
  return found;
}

const v1::CategoryClass* ClassOf(const v1::PolicyPublished& p,
                                 const std::string& code) {
  for (const auto& c : p.classes()) {
    if (c.code() == code) return &c;
  }
  return nullptr;
}

std::optional<AppliedLimit> TimeLimitFor(const v1::CategoryClass& cls,
                                         const std::string& urgency) {
  const v1::TimeLimit* limit = nullptr;
  for (const auto& l : cls.limits()) {
    if (l.urgency() == urgency) limit = &l;
  }
  for (const auto& l : cls.limits()) {
    if (limit == nullptr && l.urgency() == "ordinary") limit = &l;
  }
  if (limit == nullptr || limit->minutes() == 0) return std::nullopt;
  return AppliedLimit{limit->minutes(),
                      limit->working_time() && urgency != "emergency"};
}

absl::StatusOr<std::string> ComponentCategory(
    const std::string& id, const v1::PolicyPublished* policy) {
  if (id.size() != 16 ||
      id.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError("a component id is 16 digits");
  }
  const std::string major = id.substr(6, 2);
  if (policy != nullptr) {
    const std::string two =
        absl::StrCat("component/", major, "/", major, id.substr(8, 2));
    const std::string three =
        absl::StrCat("component/", major, "/", major, id.substr(8, 3));
    const bool has_two = ClassOf(*policy, two) != nullptr;
    const bool has_three = ClassOf(*policy, three) != nullptr;
    if (has_two && has_three) {
      return absl::InvalidArgumentError(
          absl::StrCat("the id fits both ", two, " and ", three, " of policy ",
                       policy->version(), ": ambiguous"));
    }
    if (has_two) return two;
    if (has_three) return three;
  }
  // 6+2+2+6, or 6+2+3+5 whose minor codes 080-999 are local extensions.
  // A 3-digit minor of 080 or more marks the newer layout; 2-digit minors
  // followed by a serial's leading digit read lower than 080.
  const std::string minor3 = id.substr(8, 3);
  int m3 = 0;
  if (absl::SimpleAtoi(minor3, &m3) && m3 >= 80) {
    return absl::StrCat("component/", major, "/", major, minor3);
  }
  return absl::StrCat("component/", major, "/", major, id.substr(8, 2));
}

absl::StatusOr<RegistryEvent> DecidePublishPolicy(
    const RegistryState& state, const v1::PolicyPublished& p) {
  if (p.version().empty()) return InvalidField("version", "required");
  for (const auto& existing : state.policies) {
    if (existing.version() == p.version()) {
      return absl::AlreadyExistsError(
          absl::StrCat("policy ", p.version(), " exists"));
    }
  }
  if (FromProto(p.effective_time()) == absl::InfinitePast()) {
    return InvalidField("effective_time", "required");
  }
  absl::flat_hash_set<std::string> classes, departments, types;
  for (int i = 0; i < p.classes_size(); ++i) {
    const auto& c = p.classes(i);
    const std::string f = absl::StrCat("classes[", i, "]");
    if (!IsCategory(c.code())) {
      return InvalidField(
          f + ".code", "event|component/<major>/<minor>, e.g. event/05/0505");
    }
    if (!classes.insert(c.code()).second)
      return InvalidField(f + ".code", "appears twice");
    if (c.name().empty()) return InvalidField(f + ".name", "required");
    if (c.department_type().empty())
      return InvalidField(f + ".department_type", "required");
    if (c.limits().empty())
      return InvalidField(f + ".limits", "at least one time limit");
    for (int j = 0; j < c.limits_size(); ++j) {
      const auto& l = c.limits(j);
      const std::string lf = absl::StrCat(f, ".limits[", j, "]");
      if (l.urgency() != "ordinary" && l.urgency() != "urgent" &&
          l.urgency() != "emergency") {
        return InvalidField(lf + ".urgency", "ordinary, urgent or emergency");
      }
      if (l.minutes() == 0)
        return InvalidField(lf + ".minutes", "must be positive");
    }
  }
  const auto& cal = p.calendar();
  int previous_end = -1;
  for (int i = 0; i < cal.periods_size(); ++i) {
    int start, end;
    const std::string f = absl::StrCat("calendar.periods[", i, "]");
    if (!ParseClock(cal.periods(i).start(), &start) ||
        !ParseClock(cal.periods(i).end(), &end) || start >= end ||
        start < previous_end) {
      return InvalidField(
          f, "HH:MM periods, in order, each ending after it starts");
    }
    previous_end = end;
  }
  absl::TimeZone zone;
  if (!cal.time_zone().empty() && !absl::LoadTimeZone(cal.time_zone(), &zone)) {
    // A misspelt zone would silently count in UTC+8.
    return InvalidField("calendar.time_zone", "an IANA time zone name");
  }
  if (cal.periods().empty() && p.classes_size() > 0) {
    return InvalidField("calendar.periods", "working periods are required");
  }
  for (int i = 0; i < cal.holidays_size(); ++i) {
    absl::CivilDay d;
    if (!ParseDay(cal.holidays(i), &d)) {
      return InvalidField(absl::StrCat("calendar.holidays[", i, "]"),
                          "YYYY-MM-DD");
    }
  }
  for (int i = 0; i < cal.make_up_days_size(); ++i) {
    absl::CivilDay d;
    const std::string f = absl::StrCat("calendar.make_up_days[", i, "]");
    if (!ParseDay(cal.make_up_days(i), &d))
      return InvalidField(f, "YYYY-MM-DD");
    if (std::find(cal.holidays().begin(), cal.holidays().end(),
                  cal.make_up_days(i)) != cal.holidays().end()) {
      return InvalidField(f,
                          "a day cannot be both a holiday and a make-up day");
    }
  }
  for (int i = 0; i < p.departments_size(); ++i) {
    const auto& d = p.departments(i);
    const std::string f = absl::StrCat("departments[", i, "]");
    if (d.id().empty()) return InvalidField(f + ".id", "required");
    if (!departments.insert(d.id()).second)
      return InvalidField(f + ".id", "appears twice");
    if (d.type().empty()) return InvalidField(f + ".type", "required");
    if (state.Find(d.area_code()) == nullptr) {
      return InvalidField(f + ".area_code",
                          absl::StrCat("no area ", d.area_code()));
    }
    types.insert(d.type());
  }
  for (int i = 0; i < p.routing_size(); ++i) {
    const auto& r = p.routing(i);
    const std::string f = absl::StrCat("routing[", i, "]");
    if (!classes.contains(r.category_code())) {
      return InvalidField(f + ".category_code", "not in the catalogue");
    }
    if (!r.area_code().empty() && state.Find(r.area_code()) == nullptr) {
      return InvalidField(f + ".area_code",
                          absl::StrCat("no area ", r.area_code()));
    }
    if (!types.contains(r.department_type())) {
      return InvalidField(f + ".department_type", "no department of this type");
    }
  }
  for (int i = 0; i < p.fallbacks_size(); ++i) {
    const auto& fb = p.fallbacks(i);
    const std::string f = absl::StrCat("fallbacks[", i, "]");
    if (state.Find(fb.area_code()) == nullptr) {
      return InvalidField(f + ".area_code",
                          absl::StrCat("no area ", fb.area_code()));
    }
    if (!departments.contains(fb.department_id())) {
      return InvalidField(f + ".department_id", "no such department");
    }
  }
  return RegistryEvent(p);
}

absl::StatusOr<RegistryEvent> DecideRegisterComponent(
    const RegistryState& state, const v1::ComponentRegistered& c) {
  auto category = ComponentCategory(
      c.component_id(), PolicyAt(state, FromProto(c.effective_time())));
  if (!category.ok())
    return InvalidField("component_id", category.status().message());
  if (state.components.contains(c.component_id())) {
    return absl::AlreadyExistsError(
        absl::StrCat("component ", c.component_id(), " exists"));
  }
  if (!c.category_code().empty() && c.category_code() != *category) {
    return InvalidField("category_code",
                        absl::StrCat("the id says ", *category));
  }
  if (state.Find(c.component_id().substr(0, 6)) == nullptr) {
    return InvalidField(
        "component_id",
        absl::StrCat("no district ", c.component_id().substr(0, 6)));
  }
  const absl::Time t = FromProto(c.effective_time());
  if (t == absl::InfinitePast())
    return InvalidField("effective_time", "required");
  if (c.longitude() < -180 || c.longitude() > 180 || c.latitude() < -90 ||
      c.latitude() > 90) {
    return InvalidField("longitude", "outside longitude/latitude range");
  }
  const v1::PolicyPublished* policy = PolicyAt(state, t);
  auto has_department = [&](const std::string& id) {
    if (policy == nullptr) return false;
    for (const auto& d : policy->departments()) {
      if (d.id() == id) return true;
    }
    return false;
  };
  if (!has_department(c.owner_department())) {
    return InvalidField("owner_department",
                        "no such department in the policy in force");
  }
  if (!c.maintainer_department().empty() &&
      !has_department(c.maintainer_department())) {
    return InvalidField("maintainer_department",
                        "no such department in the policy in force");
  }
  v1::ComponentRegistered out = c;
  out.set_category_code(*category);
  return RegistryEvent(std::move(out));
}

absl::StatusOr<RegistryEvent> DecideAssignStaff(const RegistryState& state,
                                                const v1::StaffAssigned& s) {
  static const absl::flat_hash_set<std::string> kRoles = {
      "grid_worker",        "micro_grid_worker", "supervisor",
      "receptionist",       "shift_leader",      "dispatcher",
      "department_handler", "follow_up_agent",   "party_member"};
  if (const std::string bad = domain::ClientIdProblem(s.staff_id());
      !bad.empty()) {
    return InvalidField("staff_id", bad);
  }
  if (s.name().empty()) return InvalidField("name", "required");
  if (!kRoles.contains(s.role()))
    return InvalidField("role", "not a staff role");
  if (s.area_codes().empty())
    return InvalidField("area_codes", "at least one area");
  for (int i = 0; i < s.area_codes_size(); ++i) {
    if (state.Find(s.area_codes(i)) == nullptr) {
      return InvalidField(absl::StrCat("area_codes[", i, "]"),
                          absl::StrCat("no area ", s.area_codes(i)));
    }
  }
  const absl::Time start = FromProto(s.start_time());
  if (start == absl::InfinitePast())
    return InvalidField("start_time", "required");
  if (s.has_end_time() && FromProto(s.end_time()) <= start) {
    return InvalidField("end_time", "must be after start_time");
  }
  if (s.role() == "department_handler") {
    const v1::PolicyPublished* policy = PolicyAt(state, start);
    bool found = false;
    for (const auto& d :
         policy ? policy->departments()
                : google::protobuf::RepeatedPtrField<v1::Department>()) {
      found = found || d.id() == s.department();
    }
    if (!found)
      return InvalidField("department",
                          "a handler needs an existing department");
  }
  return RegistryEvent(s);
}

absl::StatusOr<Responsible> ResolveDepartment(const RegistryState& state,
                                              const std::string& category,
                                              const std::string& area_code,
                                              const std::string& component_id,
                                              absl::Time t) {
  const v1::PolicyPublished* policy = PolicyAt(state, t);
  if (policy == nullptr) {
    return absl::FailedPreconditionError("no policy in force at that time");
  }
  Responsible r;
  r.policy_version = policy->version();
  if (!component_id.empty()) {
    auto it = state.components.find(component_id);
    if (it == state.components.end()) {
      return status::InvalidField("component_id", "no such component");
    }
    r.department_id = it->second.owner_department();
    return r;
  }
  const v1::CategoryClass* cls = ClassOf(*policy, category);
  if (cls == nullptr || !cls->active()) {
    return status::InvalidField("category_code",
                                "not an active class of the catalogue");
  }
  // The most specific rule; the class's own department type applies
  // everywhere else.
  std::string type = cls->department_type();
  size_t best_rule = 0;
  bool ruled = false;
  for (const auto& rule : policy->routing()) {
    if (rule.category_code() == category &&
        absl::StartsWith(area_code, rule.area_code()) &&
        (!ruled || rule.area_code().size() > best_rule)) {
      type = rule.department_type();
      best_rule = rule.area_code().size();
      ruled = true;
    }
  }
  const v1::Department* best = nullptr;
  for (const auto& d : policy->departments()) {
    if (d.type() == type && absl::StartsWith(area_code, d.area_code()) &&
        (best == nullptr || d.area_code().size() > best->area_code().size())) {
      best = &d;
    }
  }
  if (best != nullptr) {
    r.department_id = best->id();
    return r;
  }
  const v1::LocalityFallback* fallback = nullptr;
  for (const auto& f : policy->fallbacks()) {
    if (absl::StartsWith(area_code, f.area_code()) &&
        (fallback == nullptr ||
         f.area_code().size() > fallback->area_code().size())) {
      fallback = &f;
    }
  }
  if (fallback == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "no ", type, " department and no locality fallback for area ",
        area_code));
  }
  r.department_id = fallback->department_id();
  r.locality_fallback = true;
  return r;
}

std::vector<v1::StaffAssigned> StaffOf(const RegistryState& state,
                                       const std::string& area_code,
                                       const std::string& role, absl::Time t) {
  // Whoever could serve it: staff once posted to the area or one above it
  // (an area's code starts with each of its ancestors').
  absl::flat_hash_set<absl::string_view> candidates;
  for (size_t n = 0; n <= area_code.size(); ++n) {
    auto it =
        state.staff_by_area.find(absl::string_view(area_code).substr(0, n));
    if (it == state.staff_by_area.end()) continue;
    for (const auto& id : it->second) candidates.insert(id);
  }
  std::vector<v1::StaffAssigned> out;
  for (absl::string_view id : candidates) {
    auto found = state.staff.find(id);
    if (found == state.staff.end()) continue;
    const auto& history = found->second;
    const v1::StaffAssigned* current = nullptr;
    for (const auto& a : history) {
      const absl::Time start = FromProto(a.start_time());
      const absl::Time end =
          a.has_end_time() ? FromProto(a.end_time()) : absl::InfiniteFuture();
      if (start <= t && t < end) current = &a;
    }
    if (current == nullptr || (!role.empty() && current->role() != role))
      continue;
    for (const auto& a : current->area_codes()) {
      if (absl::StartsWith(area_code, a)) {
        out.push_back(*current);
        break;
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.staff_id() < b.staff_id();
  });
  return out;
}

namespace {

// Calls fn(from, to) for each stretch of working time at or after `start`,
// in order, until fn returns false. Ten years of days at most.
absl::Status ForEachWorkingInterval(
    const v1::BusinessCalendar& calendar, absl::Time start,
    const std::function<bool(absl::Time, absl::Time)>& fn) {
  if (calendar.periods().empty()) {
    return absl::FailedPreconditionError("the calendar has no working periods");
  }
  const absl::TimeZone tz = LoadZone(calendar.time_zone());
  absl::flat_hash_set<std::string> holidays(calendar.holidays().begin(),
                                            calendar.holidays().end());
  absl::flat_hash_set<std::string> make_up(calendar.make_up_days().begin(),
                                           calendar.make_up_days().end());
  std::vector<std::pair<int, int>> periods;
  for (const auto& p : calendar.periods()) {
    int s = 0, e = 0;
    ParseClock(p.start(), &s);
    ParseClock(p.end(), &e);
    periods.emplace_back(s, e);
  }
  absl::CivilDay day = absl::CivilDay(absl::ToCivilSecond(start, tz));
  for (int guard = 0; guard < 3700; ++guard, day += 1) {
    const std::string key = DayString(day);
    const absl::Weekday wd = absl::GetWeekday(day);
    const bool weekend =
        wd == absl::Weekday::saturday || wd == absl::Weekday::sunday;
    const bool working =
        make_up.contains(key) || (!weekend && !holidays.contains(key));
    if (!working) continue;
    for (const auto& [s, e] : periods) {
      const absl::Time ps = absl::FromCivil(absl::CivilMinute(day) + s, tz);
      const absl::Time pe = absl::FromCivil(absl::CivilMinute(day) + e, tz);
      if (pe <= start) continue;
      if (!fn(std::max(ps, start), pe)) return absl::OkStatus();
    }
  }
  return absl::OutOfRangeError("beyond ten years of working time");
}

}  // namespace

absl::StatusOr<absl::Time> Deadline(const v1::BusinessCalendar& calendar,
                                    absl::Time start, int64_t minutes,
                                    bool working_time) {
  return DeadlineAfter(calendar, start, absl::Minutes(minutes), working_time);
}

absl::StatusOr<absl::Time> DeadlineAfter(const v1::BusinessCalendar& calendar,
                                         absl::Time start,
                                         absl::Duration amount,
                                         bool working_time) {
  if (!working_time) return start + amount;
  absl::Duration remaining = amount;
  std::optional<absl::Time> due;
  if (remaining <= absl::ZeroDuration()) return start;
  RETURN_IF_ERROR(ForEachWorkingInterval(calendar, start,
                                         [&](absl::Time from, absl::Time to) {
                                           if (remaining <= to - from) {
                                             due = from + remaining;
                                             return false;
                                           }
                                           remaining -= to - from;
                                           return true;
                                         }));
  if (!due) return absl::OutOfRangeError("no deadline within ten years");
  return *due;
}

absl::StatusOr<absl::Duration> TimeBetween(const v1::BusinessCalendar& calendar,
                                           absl::Time from, absl::Time to,
                                           bool working_time) {
  if (to <= from) return absl::ZeroDuration();
  if (!working_time) return to - from;
  absl::Duration total;
  RETURN_IF_ERROR(
      ForEachWorkingInterval(calendar, from, [&](absl::Time a, absl::Time b) {
        if (a >= to) return false;
        total += std::min(b, to) - a;
        return b < to;
      }));
  return total;
}

}  // namespace wangge::registry
