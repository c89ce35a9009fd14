#include "services/audit/timeline.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/audit/export_format.h"
#include "services/common/clock/proto_time.h"
#include "wangge/common/v1/role.pb.h"

namespace wangge::audit {
namespace {

std::string ActorText(const common::v1::Actor& a) {
  std::string out = a.subject().empty() ? "-" : a.subject();
  if (a.role() != common::v1::ROLE_UNSPECIFIED) {
    absl::StrAppend(&out, " (", common::v1::Role_Name(a.role()), ")");
  }
  if (!a.department().empty()) absl::StrAppend(&out, " dept ", a.department());
  if (!a.channel().empty()) absl::StrAppend(&out, " via ", a.channel());
  return out;
}

}  // namespace

void CaseTimeline::Add(const std::string& service, uint32_t partition,
                       const common::v1::StoredEvent& event) {
  common::v1::EventEnvelope env;
  if (env.ParseFromString(event.record())) Add(service, partition, env);
}

void CaseTimeline::Add(const std::string& service, uint32_t partition,
                       const common::v1::EventEnvelope& env) {
  std::string payload = PayloadJson(env);
  bool mine =
      env.stream_id() == "case/" + case_id_ || env.correlation_id() == case_id_;
  if (!mine && !payload.empty()) {
    auto j = nlohmann::json::parse(payload, nullptr, false);
    mine = j.is_object() && j.value("case_id", "") == case_id_;
  }
  if (!mine) return;
  TimelineEntry e;
  e.recorded = FromProto(env.recorded_time());
  e.occurred = FromProto(env.occurred_time());
  e.service = service;
  e.partition = partition;
  e.sequence = env.sequence();
  e.event_type = env.event_type();
  e.actor = env.actor();
  e.payload_json = std::move(payload);
  entries_.push_back(std::move(e));
}

std::vector<TimelineEntry> CaseTimeline::Finish() const {
  std::vector<TimelineEntry> out = entries_;
  std::stable_sort(
      out.begin(), out.end(),
      [](const TimelineEntry& a, const TimelineEntry& b) {
        return std::tie(a.recorded, a.service, a.partition, a.sequence) <
               std::tie(b.recorded, b.service, b.partition, b.sequence);
      });
  return out;
}

std::string TimelineText(const std::vector<TimelineEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    absl::StrAppend(&out, Rfc3339(e.recorded), "  ", e.service, "/",
                    e.partition, "#", e.sequence, "  ", e.event_type, "  by ",
                    ActorText(e.actor), "\n");
  }
  return out;
}

std::string TimelineJson(const std::vector<TimelineEntry>& entries) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const auto& e : entries) {
    nlohmann::ordered_json j;
    j["recorded_time"] = Rfc3339(e.recorded);
    j["occurred_time"] = Rfc3339(e.occurred);
    j["service"] = e.service;
    j["partition"] = e.partition;
    j["sequence"] = e.sequence;
    j["event_type"] = e.event_type;
    j["actor"] = {{"subject", e.actor.subject()},
                  {"role", common::v1::Role_Name(e.actor.role())},
                  {"department", e.actor.department()},
                  {"channel", e.actor.channel()}};
    if (!e.payload_json.empty()) {
      j["payload"] = nlohmann::json::parse(e.payload_json, nullptr, false);
    }
    out.push_back(std::move(j));
  }
  return out.dump(2);
}

}  // namespace wangge::audit
