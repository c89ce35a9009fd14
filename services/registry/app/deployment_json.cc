#include "services/registry/app/deployment_json.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "services/common/status/errors.h"

namespace wangge::registry {
namespace {

using nlohmann::json;
using status::InvalidField;

absl::StatusOr<std::string> String(const json& j, const char* key,
                                   const std::string& field, bool required) {
  if (!j.contains(key)) {
    if (required) return InvalidField(field + "." + key, "required");
    return std::string();
  }
  if (!j[key].is_string())
    return InvalidField(field + "." + key, "must be a string");
  return j[key].get<std::string>();
}

absl::StatusOr<uint32_t> Count(const json& j, const char* key,
                               const std::string& field) {
  if (!j.contains(key)) return 0u;
  if (!j[key].is_number_unsigned()) {
    return InvalidField(field + "." + key, "must be a non-negative integer");
  }
  return j[key].get<uint32_t>();
}

}  // namespace

absl::StatusOr<Deployment> ParseDeploymentJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidField("deployment_json", "not a JSON object");
  }
  Deployment d;
  if (!j.contains("deployment") || !j["deployment"].is_object()) {
    return InvalidField("deployment", "required object");
  }
  const json& dep = j["deployment"];
  auto name = String(dep, "name", "deployment", true);
  if (!name.ok()) return name.status();
  d.config.set_name(*name);
  auto tz = String(dep, "time_zone", "deployment", false);
  if (!tz.ok()) return tz.status();
  d.config.set_time_zone(tz->empty() ? "Asia/Shanghai" : *tz);
  if (!dep.contains("levels") || !dep["levels"].is_array()) {
    return InvalidField("deployment.levels", "required array");
  }
  for (size_t i = 0; i < dep["levels"].size(); ++i) {
    const json& l = dep["levels"][i];
    const std::string field = absl::StrCat("deployment.levels[", i, "]");
    if (!l.is_object()) return InvalidField(field, "must be an object");
    auto* level = d.config.add_levels();
    auto lname = String(l, "name", field, true);
    if (!lname.ok()) return lname.status();
    level->set_name(*lname);
    auto len = Count(l, "code_length", field);
    if (!len.ok()) return len.status();
    level->set_code_length(*len);
    auto parent = String(l, "parent_level", field, false);
    if (!parent.ok()) return parent.status();
    level->set_parent_level(*parent);
    if (l.contains("dedicated")) {
      if (!l["dedicated"].is_boolean()) {
        return InvalidField(field + ".dedicated", "must be true or false");
      }
      level->set_dedicated(l["dedicated"].get<bool>());
    }
  }
  if (j.contains("areas")) {
    if (!j["areas"].is_array())
      return InvalidField("areas", "must be an array");
    for (size_t i = 0; i < j["areas"].size(); ++i) {
      const json& a = j["areas"][i];
      const std::string field = absl::StrCat("areas[", i, "]");
      if (!a.is_object()) return InvalidField(field, "must be an object");
      CreateArea c;
      for (auto [key, target, required] :
           {std::make_tuple("code", &c.code, true),
            std::make_tuple("parent_code", &c.parent_code, false),
            std::make_tuple("level", &c.level, true),
            std::make_tuple("name", &c.name, true)}) {
        auto v = String(a, key, field, required);
        if (!v.ok()) return v.status();
        *target = *v;
      }
      if (!a.contains("boundary") || !a["boundary"].is_object()) {
        return InvalidField(field + ".boundary", "required GeoJSON geometry");
      }
      c.boundary_geojson = a["boundary"].dump();
      auto households = Count(a, "households", field);
      if (!households.ok()) return households.status();
      c.households = *households;
      auto population = Count(a, "population", field);
      if (!population.ok()) return population.status();
      c.population = *population;
      auto when = String(a, "effective_time", field, true);
      if (!when.ok()) return when.status();
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, *when, &c.effective_time,
                           &err)) {
        return InvalidField(field + ".effective_time",
                            absl::StrCat("not an RFC 3339 time: ", err));
      }
      d.areas.push_back(std::move(c));
    }
  }
  // Policy, components and staff use protobuf's JSON mapping of their events
  // (field names as in events.proto, times in RFC 3339).
  google::protobuf::util::JsonParseOptions options;
  if (j.contains("policy")) {
    v1::PolicyPublished policy;
    auto s = google::protobuf::util::JsonStringToMessage(j["policy"].dump(),
                                                         &policy, options);
    if (!s.ok()) return InvalidField("policy", std::string(s.message()));
    d.policy = std::move(policy);
  }
  for (const char* section : {"components", "staff"}) {
    if (!j.contains(section)) continue;
    if (!j[section].is_array())
      return InvalidField(section, "must be an array");
    for (size_t i = 0; i < j[section].size(); ++i) {
      const std::string text = j[section][i].dump();
      google::protobuf::util::Status s;
      if (std::string(section) == "components") {
        v1::ComponentRegistered c;
        s = google::protobuf::util::JsonStringToMessage(text, &c, options);
        d.components.push_back(std::move(c));
      } else {
        v1::StaffAssigned a;
        s = google::protobuf::util::JsonStringToMessage(text, &a, options);
        d.staff.push_back(std::move(a));
      }
      if (!s.ok()) {
        return InvalidField(absl::StrCat(section, "[", i, "]"),
                            std::string(s.message()));
      }
    }
  }
  return d;
}

std::string DeploymentToJson(const Deployment& d) {
  json out;
  out["deployment"]["name"] = d.config.name();
  out["deployment"]["time_zone"] = d.config.time_zone();
  out["deployment"]["levels"] = json::array();
  for (const auto& l : d.config.levels()) {
    json level = {{"name", l.name()}, {"code_length", l.code_length()}};
    if (!l.parent_level().empty()) level["parent_level"] = l.parent_level();
    if (l.dedicated()) level["dedicated"] = true;
    out["deployment"]["levels"].push_back(level);
  }
  out["areas"] = json::array();
  for (const auto& a : d.areas) {
    json area = {{"code", a.code},
                 {"level", a.level},
                 {"name", a.name},
                 {"boundary", json::parse(a.boundary_geojson, nullptr, false)},
                 {"households", a.households},
                 {"population", a.population},
                 {"effective_time",
                  absl::FormatTime(absl::RFC3339_full, a.effective_time,
                                   absl::UTCTimeZone())}};
    if (!a.parent_code.empty()) area["parent_code"] = a.parent_code;
    out["areas"].push_back(std::move(area));
  }
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto to_json = [&](const google::protobuf::Message& m) {
    std::string text;
    (void)google::protobuf::util::MessageToJsonString(m, &text, options);
    return json::parse(text, nullptr, false);
  };
  if (d.policy) out["policy"] = to_json(*d.policy);
  if (!d.components.empty()) {
    out["components"] = json::array();
    for (const auto& c : d.components) out["components"].push_back(to_json(c));
  }
  if (!d.staff.empty()) {
    out["staff"] = json::array();
    for (const auto& s : d.staff) out["staff"].push_back(to_json(s));
  }
  return out.dump();
}

}  // namespace wangge::registry
