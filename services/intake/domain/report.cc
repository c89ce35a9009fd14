#include "services/intake/domain/report.h"

#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/evidence.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"
#include "services/intake/domain/coordinates.h"
#include "services/registry/domain/policy.h"

namespace wangge::intake {
namespace {

using status::FieldViolation;

// Observation times a little ahead of ours are clock skew, not the future.
constexpr absl::Duration kClockSkew = absl::Minutes(2);
constexpr size_t kMaxDescription = 2000;

size_t Utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool IsSha256Hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<v1::ReportSource> SourceOf(const common::v1::Actor& actor) {
  switch (actor.role()) {
    case common::v1::ROLE_SUPERVISOR:
      return v1::REPORT_SOURCE_SUPERVISOR;
    case common::v1::ROLE_GRID_WORKER:
    case common::v1::ROLE_MICRO_GRID_WORKER:
      return v1::REPORT_SOURCE_GRID_WORKER;
    case common::v1::ROLE_CHANNEL: {
      const std::string& c = actor.channel();
      if (c == "12345") return v1::REPORT_SOURCE_HOTLINE_12345;
      if (c == "app") return v1::REPORT_SOURCE_PUBLIC_APP;
      if (c == "mayor_mailbox") return v1::REPORT_SOURCE_MAYOR_MAILBOX;
      if (absl::StartsWith(c, "gov:") && c.size() > 4) {
        return v1::REPORT_SOURCE_GOVERNMENT_SYSTEM;
      }
      if (absl::StartsWith(c, "sensor:") && c.size() > 7) {
        return v1::REPORT_SOURCE_SENSOR;
      }
      return status::PermissionDenied(
          "unknown_channel", absl::StrCat("channel ", c, " is not known"));
    }
    default:
      return status::PermissionDenied("report_source",
                                      "this role does not report cases");
  }
}

v1::Report ReportView(const v1::ReportReceived& e) {
  v1::Report r;
  r.set_case_id(e.case_id());
  r.set_category_code(e.category_code());
  r.set_area_code(e.area_code());
  *r.mutable_point() = e.point();
  r.set_description(e.description());
  r.set_source(v1::ReportSource_Name(e.source()));
  *r.mutable_received_time() = e.received_time();
  r.set_reporter_subject(e.reporter_subject());
  return r;
}

absl::StatusOr<LonLat> PointInWgs84(const common::v1::GeoPoint& p) {
  if (!(p.longitude() >= -180 && p.longitude() <= 180 && p.latitude() >= -90 &&
        p.latitude() <= 90)) {
    return status::InvalidField("location.point",
                                "outside longitude/latitude range");
  }
  const LonLat given{p.longitude(), p.latitude()};
  switch (p.coordinate_system()) {
    case common::v1::COORDINATE_SYSTEM_GCJ02:
      return Gcj02ToWgs84(given);
    case common::v1::COORDINATE_SYSTEM_BD09:
      return Bd09ToWgs84(given);
    case common::v1::COORDINATE_SYSTEM_WGS84:
    case common::v1::COORDINATE_SYSTEM_CGCS2000:
      return given;
    default:
      return status::InvalidField("location.point.coordinate_system",
                                  "required: WGS84, CGCS2000, GCJ02 or BD09");
  }
}

absl::StatusOr<v1::ReportReceived> DecideReport(const ReportInput& in) {
  const v1::ReportCaseRequest& r = *in.request;
  auto source = SourceOf(in.actor);
  if (!source.ok()) return source.status();

  std::vector<FieldViolation> bad;
  if (r.request_id().empty() || r.request_id().size() > 128) {
    bad.push_back({"request_id", "required, at most 128 characters"});
  }
  // Catalogue classes: "event/05/0505" or "component/01/0101": a national
  // major class and a minor class that starts with it (5 digits for the
  // 6+2+3+5 local extensions). Whether the class is active comes with the
  // registry's catalogue.
  absl::Time observed = FromProto(r.observed_time());
  if (observed == absl::InfinitePast()) observed = in.now;
  std::string category = r.category_code();
  // A component's class: as registered, else as its id and the catalogue
  // in force when observed say (the one the class is checked against).
  if (category.empty() &&
      r.location().location_case() == v1::Location::kComponentId) {
    auto registered = in.registry->components.find(r.location().component_id());
    if (registered != in.registry->components.end()) {
      category = registered->second.category_code();
    }
    if (category.empty()) {
      auto from_id = registry::ComponentCategory(
          r.location().component_id(),
          registry::PolicyAt(*in.registry, observed));
      if (from_id.ok()) category = *from_id;
    }
  }
  if (!registry::IsCategory(category)) {
    bad.push_back({"category_code",
                   "must be event|component/<major 2 digits>/<minor starting "
                   "with the major>, e.g. event/05/0505"});
  }
  const size_t chars = Utf8Length(r.description());
  if (chars == 0 || chars > kMaxDescription) {
    bad.push_back({"description", "required, at most 2000 characters"});
  }
  if (static_cast<size_t>(r.media_size()) > domain::kMaxEvidence) {
    bad.push_back({"media", absl::StrCat("at most ", domain::kMaxEvidence,
                                         " references")});
  }
  for (int i = 0;
       i < r.media_size() && static_cast<size_t>(i) < domain::kMaxEvidence;
       ++i) {
    const std::string field = absl::StrCat("media[", i, "]");
    if (r.media(i).uri().empty()) bad.push_back({field + ".uri", "required"});
    if (!IsSha256Hex(r.media(i).sha256())) {
      bad.push_back({field + ".sha256", "must be 64 hex digits (SHA-256)"});
    }
  }
  if (observed > in.now + kClockSkew) {
    bad.push_back({"observed_time", "is in the future"});
  }
  if (r.has_reporter() &&
      (!r.reporter().name().empty() || !r.reporter().phone().empty())) {
    // A citizen's contact comes through a channel; staff are known by id.
    if (in.actor.role() != common::v1::ROLE_CHANNEL) {
      bad.push_back({"reporter", "only channels send a citizen's contact"});
    }
    if (Utf8Length(r.reporter().name()) > 64) {
      bad.push_back({"reporter.name", "at most 64 characters"});
    }
    static const std::regex kPhone(R"(\+?[0-9][0-9 -]{4,19})");
    if (!std::regex_match(r.reporter().phone(), kPhone)) {
      bad.push_back({"reporter.phone", "5 to 20 digits, spaces or dashes"});
    }
  }
  if (!bad.empty()) return status::InvalidArgument(std::move(bad));

  // The class must be active in the catalogue in force when observed (a
  // report naming a component takes the component's class if none given).
  const registry::v1::PolicyPublished* policy =
      registry::PolicyAt(*in.registry, observed);
  if (policy == nullptr) {
    return absl::FailedPreconditionError(
        "no catalogue in force at the observation time (registry not loaded?)");
  }
  const registry::v1::CategoryClass* cls = registry::ClassOf(*policy, category);
  if (cls == nullptr || !cls->active()) {
    return status::InvalidField("category_code",
                                absl::StrCat(category,
                                             " is not an active class of "
                                             "catalogue ",
                                             policy->version()));
  }

  v1::ReportReceived e;
  e.set_case_id(in.case_id);
  e.set_source(*source);
  e.set_category_code(category);
  e.set_description(r.description());
  for (const auto& media : r.media())
    e.add_media_sha256(absl::AsciiStrToLower(media.sha256()));
  *e.mutable_observed_time() = ToProto(observed);
  e.set_request_id(r.request_id());
  e.set_reporter_subject(in.actor.subject());
  *e.mutable_received_time() = ToProto(in.now);
  for (const auto& id : in.possible_duplicates) e.add_possible_duplicates(id);

  const auto& loc = r.location();
  switch (loc.location_case()) {
    case v1::Location::kPoint: {
      ASSIGN_OR_RETURN(const LonLat wgs, PointInWgs84(loc.point()));
      auto located = in.index->Locate(wgs.lon, wgs.lat, observed);
      if (!located.ok()) {
        return status::InvalidField("location.point",
                                    "outside every area of the deployment at "
                                    "the observation time");
      }
      e.set_area_code(located->code);
      e.mutable_point()->set_longitude(wgs.lon);
      e.mutable_point()->set_latitude(wgs.lat);
      e.mutable_point()->set_coordinate_system(
          common::v1::COORDINATE_SYSTEM_WGS84);
      break;
    }
    case v1::Location::kAreaCode: {
      const registry::Area* area = in.registry->Find(loc.area_code());
      if (area == nullptr || !area->ActiveAt(observed)) {
        return status::InvalidField(
            "location.area_code",
            "no such area in force at the observation time");
      }
      e.set_area_code(area->code);
      break;
    }
    case v1::Location::kComponentId: {
      auto it = in.registry->components.find(loc.component_id());
      if (it == in.registry->components.end()) {
        return status::InvalidField("location.component_id",
                                    "no such component (部件)");
      }
      auto located = in.index->Locate(it->second.longitude(),
                                      it->second.latitude(), observed);
      if (!located.ok()) {
        return status::InvalidField("location.component_id",
                                    "the component lies outside every area");
      }
      e.set_component_id(loc.component_id());
      e.set_area_code(located->code);
      e.mutable_point()->set_longitude(it->second.longitude());
      e.mutable_point()->set_latitude(it->second.latitude());
      e.mutable_point()->set_coordinate_system(
          common::v1::COORDINATE_SYSTEM_WGS84);
      break;
    }
    default:
      return status::InvalidField("location",
                                  "a point, an area code or a component id");
  }
  return e;
}

}  // namespace wangge::intake
