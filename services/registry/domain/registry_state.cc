#include "services/registry/domain/registry_state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"
#include "services/registry/domain/area_code.h"
#include "services/registry/domain/policy.h"

namespace wangge::registry {
namespace {

using status::InvalidField;

// Prefixes every field violation of `s` (import positions).
absl::Status Within(const std::string& prefix, absl::Status s) {
  auto violations = status::FieldViolations(s);
  if (violations.empty()) {
    return absl::Status(s.code(), absl::StrCat(prefix, ": ", s.message()));
  }
  for (auto& v : violations) v.field = absl::StrCat(prefix, ".", v.field);
  return status::InvalidArgument(std::move(violations));
}

std::string Percent(double part, double whole) {
  return absl::StrCat(whole > 0 ? 100.0 * part / whole : 0.0, "%");
}

// `t`, and every later moment at which one of `areas` starts, is redrawn
// or retires: what is in force changes only then. History can be imported
// out of order (a sibling that starts in June imported before one that
// starts in January), so a rule checked at `t` alone would miss a conflict
// that begins later.
std::vector<absl::Time> ChangesFrom(absl::Time t,
                                    const std::vector<const Area*>& areas) {
  std::vector<absl::Time> out = {t};
  for (const Area* a : areas) {
    if (a == nullptr) continue;
    if (a->created > t) out.push_back(a->created);
    if (a->retired > t && a->retired != absl::InfiniteFuture()) {
      out.push_back(a->retired);
    }
    for (const auto& v : a->versions)
      if (v.from > t) out.push_back(v.from);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Boundary rules shared by create and redraw, from `t` on: inside the
// parent, no overlap with same-kind siblings (other than `self`).
absl::Status CheckPlacementAt(const RegistryState& state, const Area* parent,
                              bool dedicated, const std::string& self,
                              const Boundary& boundary, absl::Time t);

absl::Status CheckPlacement(const RegistryState& state, const Area* parent,
                            bool dedicated, const std::string& self,
                            const Boundary& boundary, absl::Time t) {
  std::vector<const Area*> involved = {parent};
  auto it = state.children.find(parent ? parent->code : std::string());
  if (it != state.children.end()) {
    for (const std::string& code : it->second) {
      if (code != self) involved.push_back(&state.areas.at(code));
    }
  }
  for (absl::Time at : ChangesFrom(t, involved)) {
    RETURN_IF_ERROR(
        CheckPlacementAt(state, parent, dedicated, self, boundary, at));
  }
  return absl::OkStatus();
}

absl::Status CheckPlacementAt(const RegistryState& state, const Area* parent,
                              bool dedicated, const std::string& self,
                              const Boundary& boundary, absl::Time t) {
  if (parent != nullptr) {
    const AreaVersion* pv = parent->VersionAt(t);
    if (pv == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "parent ", parent->code, " has no boundary at ", absl::FormatTime(t),
          " (not yet in force, or retired while this area would be)"));
    }
    const double outside = boundary.AreaOutside(*pv->boundary);
    if (outside > kRelativeAreaTolerance * boundary.Area()) {
      return InvalidField(
          "boundary",
          absl::StrCat(Percent(outside, boundary.Area()),
                       " of it lies outside parent ", parent->code));
    }
  }
  auto it = state.children.find(parent ? parent->code : std::string());
  if (it == state.children.end()) return absl::OkStatus();
  for (const std::string& sibling_code : it->second) {
    if (sibling_code == self) continue;
    const Area& sibling = state.areas.at(sibling_code);
    if (sibling.dedicated != dedicated || !sibling.ActiveAt(t)) continue;
    const AreaVersion* sv = sibling.VersionAt(t);
    if (sv == nullptr) continue;
    const double overlap = boundary.OverlapArea(*sv->boundary);
    if (overlap > kRelativeAreaTolerance *
                      std::min(boundary.Area(), sv->boundary->Area())) {
      return InvalidField("boundary",
                          absl::StrCat("overlaps sibling ", sibling_code, " (",
                                       Percent(overlap, boundary.Area()), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string AreaProjectionRow(const Area& a) {
  return absl::StrCat(a.level, "|", a.parent_code, "|",
                      absl::ToUnixSeconds(a.created), "|",
                      a.retired == absl::InfiniteFuture()
                          ? std::string("-")
                          : absl::StrCat(absl::ToUnixSeconds(a.retired)),
                      "|", a.versions.size());
}

const AreaVersion* Area::VersionAt(absl::Time t) const {
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (it->from <= t && t < it->to) return &*it;
  }
  return nullptr;
}

const Area* RegistryState::Find(const std::string& code) const {
  auto it = areas.find(code);
  return it == areas.end() ? nullptr : &it->second;
}

std::string StreamOf(const RegistryEvent& event) {
  struct {
    std::string operator()(const v1::DeploymentConfigured&) {
      return kDeploymentStream;
    }
    std::string operator()(const v1::AreaCreated& e) {
      return "area/" + e.code();
    }
    std::string operator()(const v1::AreaRedrawn& e) {
      return "area/" + e.code();
    }
    std::string operator()(const v1::AreaRetired& e) {
      return "area/" + e.code();
    }
    std::string operator()(const v1::PolicyPublished&) { return "policy"; }
    std::string operator()(const v1::ComponentRegistered& e) {
      return "component/" + e.component_id();
    }
    std::string operator()(const v1::StaffAssigned& e) {
      return "staff/" + e.staff_id();
    }
  } visitor;
  return std::visit(visitor, event);
}

const google::protobuf::Message& PayloadOf(const RegistryEvent& event) {
  return std::visit(
      [](const auto& e) -> const google::protobuf::Message& { return e; },
      event);
}

absl::Status Evolve(RegistryState& state, const RegistryEvent& event) {
  if (const auto* e = std::get_if<v1::DeploymentConfigured>(&event)) {
    state.deployment = *e;
    state.levels.clear();
    for (const auto& level : e->levels()) state.levels[level.name()] = level;
  } else if (const auto* e = std::get_if<v1::AreaCreated>(&event)) {
    std::shared_ptr<const Boundary> boundary;
    if (state.keep_boundaries) {
      ASSIGN_OR_RETURN(boundary, Boundary::FromGeoJson(e->boundary_geojson()));
    }
    Area area;
    area.code = e->code();
    area.parent_code = e->parent_code();
    area.level = e->level();
    area.name = e->name();
    area.dedicated = e->dedicated();
    area.households = e->households();
    area.population = e->population();
    area.created = FromProto(e->effective_time());
    // From the level, not the parent: replay may meet areas of different
    // streams (partitions) in any order; only each area's own are ordered.
    area.depth = 0;
    if (state.deployment) {
      for (int i = 0; i < state.deployment->levels_size(); ++i) {
        if (state.deployment->levels(i).name() == area.level) area.depth = i;
      }
    }
    area.versions.push_back({area.created, absl::InfiniteFuture(), boundary});
    state.children[area.parent_code].push_back(area.code);
    state.areas[area.code] = std::move(area);
  } else if (const auto* e = std::get_if<v1::AreaRedrawn>(&event)) {
    auto it = state.areas.find(e->code());
    if (it == state.areas.end())
      return absl::DataLossError("redraw of unknown area");
    std::shared_ptr<const Boundary> boundary;
    if (state.keep_boundaries) {
      ASSIGN_OR_RETURN(boundary, Boundary::FromGeoJson(e->boundary_geojson()));
    }
    const absl::Time t = FromProto(e->effective_time());
    it->second.versions.back().to = t;
    it->second.versions.push_back({t, it->second.retired, boundary});
  } else if (const auto* e = std::get_if<v1::PolicyPublished>(&event)) {
    state.policies.push_back(*e);
    std::stable_sort(
        state.policies.begin(), state.policies.end(),
        [](const v1::PolicyPublished& a, const v1::PolicyPublished& b) {
          return FromProto(a.effective_time()) < FromProto(b.effective_time());
        });
  } else if (const auto* e = std::get_if<v1::ComponentRegistered>(&event)) {
    state.components[e->component_id()] = *e;
  } else if (const auto* e = std::get_if<v1::StaffAssigned>(&event)) {
    state.staff[e->staff_id()].push_back(*e);
    for (const auto& area : e->area_codes()) {
      state.staff_by_area[area].insert(e->staff_id());
    }
  } else if (const auto* e = std::get_if<v1::AreaRetired>(&event)) {
    auto it = state.areas.find(e->code());
    if (it == state.areas.end())
      return absl::DataLossError("retire of unknown area");
    const absl::Time t = FromProto(e->effective_time());
    it->second.retired = t;
    it->second.versions.back().to = t;
  }
  ++state.applied;
  return absl::OkStatus();
}

absl::Status Evolve(RegistryState& state,
                    const wangge::common::v1::EventEnvelope& envelope) {
  const std::string& type = envelope.event_type();
  const std::string& bytes = envelope.payload().value();
  auto parse = [&](auto message) -> absl::Status {
    if (!message.ParseFromString(bytes)) {
      return absl::DataLossError(absl::StrCat(type, " does not parse"));
    }
    return Evolve(state, RegistryEvent(std::move(message)));
  };
  if (type == "wangge.registry.v1.DeploymentConfigured") {
    return parse(v1::DeploymentConfigured());
  }
  if (type == "wangge.registry.v1.AreaCreated") return parse(v1::AreaCreated());
  if (type == "wangge.registry.v1.AreaRedrawn") return parse(v1::AreaRedrawn());
  if (type == "wangge.registry.v1.AreaRetired") return parse(v1::AreaRetired());
  if (type == "wangge.registry.v1.PolicyPublished")
    return parse(v1::PolicyPublished());
  if (type == "wangge.registry.v1.ComponentRegistered") {
    return parse(v1::ComponentRegistered());
  }
  if (type == "wangge.registry.v1.StaffAssigned")
    return parse(v1::StaffAssigned());
  if (type == "wangge.common.v1.Checkpoint") return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("the registry has no event ", type));
}

absl::StatusOr<RegistryEvent> DecideConfigureDeployment(
    const RegistryState& state, const v1::DeploymentConfigured& d) {
  if (d.name().empty()) return InvalidField("deployment.name", "required");
  if (d.levels().empty()) return InvalidField("deployment.levels", "required");
  absl::flat_hash_map<std::string, const v1::AreaLevel*> seen;
  for (int i = 0; i < d.levels_size(); ++i) {
    const auto& level = d.levels(i);
    const std::string field = absl::StrCat("deployment.levels[", i, "]");
    if (level.name().empty()) return InvalidField(field + ".name", "required");
    if (seen.count(level.name())) {
      return InvalidField(field + ".name", "appears twice");
    }
    if (level.code_length() < 4 || level.code_length() > 24) {
      return InvalidField(field + ".code_length", "must be 4..24 digits");
    }
    if (!level.parent_level().empty()) {
      auto parent = seen.find(level.parent_level());
      if (parent == seen.end()) {
        return InvalidField(field + ".parent_level",
                            "must name an earlier level");
      }
      if (level.code_length() <= parent->second->code_length()) {
        return InvalidField(field + ".code_length",
                            "must be longer than the parent level's");
      }
    } else if (i != 0) {
      return InvalidField(field + ".parent_level",
                          "only the first level has no parent");
    }
    seen[level.name()] = &level;
  }
  if (state.deployment && !state.areas.empty()) {
    return absl::FailedPreconditionError(
        "the deployment's levels are fixed once areas exist");
  }
  return RegistryEvent(d);
}

absl::StatusOr<RegistryEvent> DecideCreateArea(const RegistryState& state,
                                               const CreateArea& c) {
  if (!state.deployment) {
    return absl::FailedPreconditionError("configure the deployment first");
  }
  auto level_it = state.levels.find(c.level);
  if (level_it == state.levels.end()) {
    return InvalidField(
        "level", absl::StrCat("no level ", c.level, " in this deployment"));
  }
  const v1::AreaLevel& level = level_it->second;
  if (c.effective_time == absl::InfinitePast()) {
    return InvalidField("effective_time", "required");
  }
  if (c.name.empty()) return InvalidField("name", "required");
  auto code = NormalizeAreaCode(c.code, level.code_length());
  if (!code.ok()) return InvalidField("code", code.status().message());
  if (state.Find(*code) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("area ", *code, " exists"));
  }
  const Area* parent = nullptr;
  std::string parent_code;
  if (level.parent_level().empty()) {
    if (!c.parent_code.empty()) {
      return InvalidField("parent_code", "a top-level area has no parent");
    }
  } else {
    const v1::AreaLevel& parent_level = state.levels.at(level.parent_level());
    auto pc = NormalizeAreaCode(c.parent_code, parent_level.code_length());
    if (!pc.ok()) return InvalidField("parent_code", pc.status().message());
    parent_code = *pc;
    parent = state.Find(parent_code);
    if (parent == nullptr) {
      return InvalidField("parent_code", absl::StrCat("no area ", parent_code));
    }
    if (parent->level != level.parent_level()) {
      return InvalidField("parent_code",
                          absl::StrCat(parent_code, " is a ", parent->level,
                                       ", not a ", level.parent_level()));
    }
    if (!parent->ActiveAt(c.effective_time)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "parent ", parent_code, " is not in force at the effective time"));
    }
    auto prefix = CheckChildCode(*code, parent_code);
    if (!prefix.ok()) return InvalidField("code", prefix.message());
  }
  auto boundary = Boundary::FromGeoJson(c.boundary_geojson);
  if (!boundary.ok())
    return InvalidField("boundary", boundary.status().message());
  RETURN_IF_ERROR(CheckPlacement(state, parent, level.dedicated(), *code,
                                 **boundary, c.effective_time));
  v1::AreaCreated e;
  e.set_code(*code);
  e.set_parent_code(parent_code);
  e.set_level(c.level);
  e.set_name(c.name);
  // Stored as GEOS writes it: one canonical text per boundary.
  e.set_boundary_geojson((*boundary)->ToGeoJson());
  e.set_dedicated(level.dedicated());
  e.set_households(c.households);
  e.set_population(c.population);
  *e.mutable_effective_time() = ToProto(c.effective_time);
  return RegistryEvent(std::move(e));
}

absl::StatusOr<RegistryEvent> DecideRedrawArea(const RegistryState& state,
                                               const std::string& code,
                                               const std::string& geojson,
                                               absl::Time t) {
  const Area* area = state.Find(code);
  if (area == nullptr)
    return absl::NotFoundError(absl::StrCat("no area ", code));
  if (!area->ActiveAt(t)) {
    return absl::FailedPreconditionError(
        absl::StrCat("area ", code, " is not in force at the effective time"));
  }
  if (t <= area->versions.back().from) {
    return InvalidField("effective_time",
                        "must be after the current boundary's start");
  }
  auto boundary = Boundary::FromGeoJson(geojson);
  if (!boundary.ok())
    return InvalidField("boundary", boundary.status().message());
  RETURN_IF_ERROR(CheckPlacement(state, state.Find(area->parent_code),
                                 area->dedicated, code, **boundary, t));
  // Children in force, from then on, must stay inside.
  auto kids = state.children.find(code);
  if (kids != state.children.end()) {
    for (const std::string& child_code : kids->second) {
      const Area& child = state.areas.at(child_code);
      for (absl::Time at : ChangesFrom(t, {&child})) {
        const AreaVersion* cv =
            child.ActiveAt(at) ? child.VersionAt(at) : nullptr;
        if (cv == nullptr) continue;
        const double outside = cv->boundary->AreaOutside(**boundary);
        if (outside > kRelativeAreaTolerance * cv->boundary->Area()) {
          return InvalidField("boundary",
                              absl::StrCat("would leave child ", child_code,
                                           " partly outside; redraw it first"));
        }
      }
    }
  }
  v1::AreaRedrawn e;
  e.set_code(code);
  e.set_boundary_geojson((*boundary)->ToGeoJson());
  *e.mutable_effective_time() = ToProto(t);
  return RegistryEvent(std::move(e));
}

absl::StatusOr<RegistryEvent> DecideRetireArea(const RegistryState& state,
                                               const std::string& code,
                                               absl::Time t) {
  const Area* area = state.Find(code);
  if (area == nullptr)
    return absl::NotFoundError(absl::StrCat("no area ", code));
  if (!area->ActiveAt(t) || t <= area->created) {
    return absl::FailedPreconditionError(
        absl::StrCat("area ", code, " is not in force at the effective time"));
  }
  if (t <= area->versions.back().from) {
    // Its later boundary would stay in force after the retirement.
    return absl::FailedPreconditionError(
        absl::StrCat("area ", code, " has a boundary that starts at ",
                     absl::FormatTime(area->versions.back().from),
                     ", after this retirement"));
  }
  auto kids = state.children.find(code);
  if (kids != state.children.end()) {
    std::vector<std::string> active;
    for (const std::string& child : kids->second) {
      // In force at or after `t` (one that starts later counts too).
      if (state.areas.at(child).retired > t) active.push_back(child);
    }
    if (!active.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "retire or move its children first: ", absl::StrJoin(active, ", ")));
    }
  }
  v1::AreaRetired e;
  e.set_code(code);
  *e.mutable_effective_time() = ToProto(t);
  return RegistryEvent(std::move(e));
}

absl::StatusOr<std::vector<RegistryEvent>> DecideSplitArea(
    const RegistryState& state, const std::string& code,
    const std::vector<CreateArea>& parts, absl::Time t) {
  if (parts.size() < 2)
    return InvalidField("parts", "a split needs two or more");
  const Area* area = state.Find(code);
  if (area == nullptr)
    return absl::NotFoundError(absl::StrCat("no area ", code));
  ASSIGN_OR_RETURN(RegistryEvent retired, DecideRetireArea(state, code, t));
  RegistryState scratch = state;
  RETURN_IF_ERROR(Evolve(scratch, retired));
  std::vector<RegistryEvent> events;
  for (size_t i = 0; i < parts.size(); ++i) {
    CreateArea part = parts[i];
    part.parent_code = area->parent_code;
    part.level = area->level;
    part.effective_time = t;
    auto created = DecideCreateArea(scratch, part);
    if (!created.ok()) {
      return Within(absl::StrCat("parts[", i, "]"), created.status());
    }
    std::get<v1::AreaRetired>(retired).add_replaced_by(
        std::get<v1::AreaCreated>(*created).code());
    RETURN_IF_ERROR(Evolve(scratch, *created));
    events.push_back(std::move(*created));
  }
  events.insert(events.begin(), std::move(retired));
  return events;
}

absl::StatusOr<std::vector<RegistryEvent>> DecideMergeAreas(
    const RegistryState& state, const std::vector<std::string>& codes,
    const CreateArea& merged, absl::Time t) {
  if (codes.size() < 2)
    return InvalidField("codes", "a merge needs two or more");
  RegistryState scratch = state;
  std::vector<RegistryEvent> events;
  std::string parent, level;
  for (size_t i = 0; i < codes.size(); ++i) {
    const Area* area = scratch.Find(codes[i]);
    if (area == nullptr) {
      return absl::NotFoundError(absl::StrCat("no area ", codes[i]));
    }
    if (i == 0) {
      parent = area->parent_code;
      level = area->level;
    } else if (area->parent_code != parent || area->level != level) {
      return InvalidField(absl::StrCat("codes[", i, "]"),
                          "merged areas must share parent and level");
    }
    ASSIGN_OR_RETURN(RegistryEvent retired,
                     DecideRetireArea(scratch, codes[i], t));
    RETURN_IF_ERROR(Evolve(scratch, retired));
    events.push_back(std::move(retired));
  }
  CreateArea c = merged;
  c.parent_code = parent;
  c.level = level;
  c.effective_time = t;
  auto created = DecideCreateArea(scratch, c);
  if (!created.ok()) return Within("merged", created.status());
  for (auto& e : events) {
    std::get<v1::AreaRetired>(e).add_replaced_by(
        std::get<v1::AreaCreated>(*created).code());
  }
  events.push_back(std::move(*created));
  return events;
}

Deployment ExportDeployment(const RegistryState& state, absl::Time t) {
  Deployment d;
  if (state.deployment) d.config = *state.deployment;
  std::vector<const Area*> areas;
  for (const auto& [code, area] : state.areas) {
    if (area.ActiveAt(t) && area.VersionAt(t) != nullptr)
      areas.push_back(&area);
  }
  // Parents first: shorter codes first, then by code.
  std::sort(areas.begin(), areas.end(), [](const Area* a, const Area* b) {
    return a->code.size() != b->code.size() ? a->code.size() < b->code.size()
                                            : a->code < b->code;
  });
  // A snapshot, not a history: each item takes effect at the latest start
  // of what it depends on (its own boundary, its parent, the policy), all
  // at or before `t`, so that it re-imports in order (a child older than
  // its parent's current boundary would otherwise precede its parent) and
  // answers the same from `t` on.
  absl::flat_hash_map<std::string, absl::Time> since;
  auto start_of = [&](const std::string& code) {
    auto it = since.find(code);
    return it == since.end() ? absl::InfinitePast() : it->second;
  };
  for (const Area* a : areas) {
    const AreaVersion* v = a->VersionAt(t);
    const absl::Time from = std::max(v->from, start_of(a->parent_code));
    since[a->code] = from;
    d.areas.push_back({a->code, a->parent_code, a->level, a->name,
                       v->boundary->ToGeoJson(), a->households, a->population,
                       from});
  }
  absl::Time policy_from = absl::InfinitePast();
  if (const v1::PolicyPublished* p = PolicyAt(state, t)) {
    d.policy = *p;
    policy_from = FromProto(p->effective_time());
  }
  std::vector<std::string> component_ids;
  for (const auto& [id, c] : state.components) {
    if (FromProto(c.effective_time()) <= t) component_ids.push_back(id);
  }
  std::sort(component_ids.begin(), component_ids.end());
  for (const auto& id : component_ids) {
    v1::ComponentRegistered c = state.components.at(id);
    *c.mutable_effective_time() =
        ToProto(std::max({FromProto(c.effective_time()), policy_from,
                          start_of(id.substr(0, 6))}));
    d.components.push_back(std::move(c));
  }
  std::vector<std::string> staff_ids;
  for (const auto& [id, history] : state.staff) staff_ids.push_back(id);
  std::sort(staff_ids.begin(), staff_ids.end());
  for (const auto& id : staff_ids) {
    for (const auto& a : state.staff.at(id)) {
      const absl::Time start = FromProto(a.start_time());
      const absl::Time end =
          a.has_end_time() ? FromProto(a.end_time()) : absl::InfiniteFuture();
      if (start <= t && t < end) {
        v1::StaffAssigned post = a;
        absl::Time from = std::max(start, policy_from);
        for (const auto& code : a.area_codes())
          from = std::max(from, start_of(code));
        *post.mutable_start_time() = ToProto(from);
        d.staff.push_back(std::move(post));
      }
    }
  }
  return d;
}

absl::StatusOr<std::vector<RegistryEvent>> DecideImport(
    const RegistryState& state, const Deployment& deployment) {
  RegistryState scratch = state;
  std::vector<RegistryEvent> events;
  if (!scratch.deployment) {
    ASSIGN_OR_RETURN(RegistryEvent configured,
                     DecideConfigureDeployment(scratch, deployment.config));
    RETURN_IF_ERROR(Evolve(scratch, configured));
    events.push_back(std::move(configured));
  }
  for (size_t i = 0; i < deployment.areas.size(); ++i) {
    auto created = DecideCreateArea(scratch, deployment.areas[i]);
    if (!created.ok()) {
      return Within(absl::StrCat("areas[", i, "]"), created.status());
    }
    RETURN_IF_ERROR(Evolve(scratch, *created));
    events.push_back(std::move(*created));
  }
  if (deployment.policy) {
    auto published = DecidePublishPolicy(scratch, *deployment.policy);
    if (!published.ok()) return Within("policy", published.status());
    RETURN_IF_ERROR(Evolve(scratch, *published));
    events.push_back(std::move(*published));
  }
  for (size_t i = 0; i < deployment.components.size(); ++i) {
    auto registered =
        DecideRegisterComponent(scratch, deployment.components[i]);
    if (!registered.ok()) {
      return Within(absl::StrCat("components[", i, "]"), registered.status());
    }
    RETURN_IF_ERROR(Evolve(scratch, *registered));
    events.push_back(std::move(*registered));
  }
  for (size_t i = 0; i < deployment.staff.size(); ++i) {
    auto assigned = DecideAssignStaff(scratch, deployment.staff[i]);
    if (!assigned.ok()) {
      return Within(absl::StrCat("staff[", i, "]"), assigned.status());
    }
    RETURN_IF_ERROR(Evolve(scratch, *assigned));
    events.push_back(std::move(*assigned));
  }
  return events;
}

}  // namespace wangge::registry
