#include "services/audit/replay.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "services/common/clock/proto_time.h"
#include "services/common/domain/emitted.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/status/status_macros.h"
#include "services/dispatch/domain/task.h"
#include "services/intake/domain/report.h"
#include "services/oversight/domain/red_line.h"
#include "services/registry/domain/registry_state.h"
#include "services/supervision/domain/case.h"
#include "wangge/intake/v1/events.pb.h"

namespace wangge::audit {
namespace {

// The registry's "areas", rows as the service keeps them.
absl::StatusOr<ReplayedState> ReplayRegistry(
    const std::map<uint32_t, std::vector<common::v1::EventEnvelope>>& parts) {
  ASSIGN_OR_RETURN(registry::RegistryState state, RegistryFromHistory(parts));
  ReplayedState out;
  ProjectionRows& rows = out["areas"];
  for (const auto& [code, area] : state.areas)  // a hash map: sorted below
    rows.Append(code, registry::AreaProjectionRow(area));
  rows.SortByKey();
  return out;
}

// Intake's "reports": one row per ReportReceived, as ReportView renders it.
// Streamed: a row depends on its own event only.
absl::Status ReplayIntakeEvent(uint32_t p, const common::v1::EventEnvelope& env,
                               ProjectionRows& rows) {
  if (env.event_type() != "wangge.intake.v1.ReportReceived")
    return absl::OkStatus();
  intake::v1::ReportReceived received;
  if (!received.ParseFromString(env.payload().value())) {
    return absl::DataLossError(absl::StrCat("intake/", p, "/", env.sequence(),
                                            ": ReportReceived does not parse"));
  }
  const intake::v1::Report row = intake::ReportView(received);
  row.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(
      rows.AppendForRow(received.case_id(), row.ByteSizeLong())));
  return absl::OkStatus();
}

// A service whose rows are its streams' states, folded with its own Evolve:
// supervision's "cases" (case/<id> -> CaseRecord) and dispatch's "tasks"
// (task/<case>/<n> -> TaskRecord). A stream lives in one partition, in order.
template <typename Record, typename EvolveFn>
absl::Status ReplayStreamEvent(const common::v1::EventEnvelope& env,
                               const std::string& prefix,
                               const std::string& projection,
                               std::map<std::string, Record>& records,
                               EvolveFn evolve) {
  if (!absl::StartsWith(env.stream_id(), prefix)) return absl::OkStatus();
  Record& r = records[env.stream_id()];
  absl::Status s = evolve(r, env);
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat(projection, " replay at ",
                                            env.partition(), "/",
                                            env.sequence(), ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<registry::RegistryState> RegistryFromHistory(
    const std::map<uint32_t, std::vector<common::v1::EventEnvelope>>& parts) {
  registry::RegistryState state;
  for (const auto& [p, events] : parts) {
    for (const auto& env : events) {
      if (env.stream_id() == registry::kDeploymentStream)
        RETURN_IF_ERROR(registry::Evolve(state, env));
    }
  }
  for (const auto& [p, events] : parts) {
    for (const auto& env : events) {
      if (env.stream_id() == registry::kDeploymentStream) continue;
      absl::Status s = registry::Evolve(state, env);
      if (!s.ok()) {
        return absl::DataLossError(
            absl::StrCat("registry/", p, "/", env.sequence(),
                         " does not apply: ", s.message()));
      }
    }
  }
  return state;
}

absl::Status Replayer::Add(uint32_t partition,
                           const common::v1::StoredEvent& event) {
  common::v1::EventEnvelope env;
  if (!env.ParseFromString(event.record())) {
    return absl::DataLossError(
        absl::StrCat(service_, "/", partition, ": a record does not parse"));
  }
  return Add(partition, std::move(env));
}

void Replayer::Absorb(Replayer&& other) {
  report_rows_.Absorb(std::move(other.report_rows_));
  cases_.merge(other.cases_);
  tasks_.merge(other.tasks_);
  notices_.merge(other.notices_);
  partitions_.merge(other.partitions_);
  events_ += other.events_;
}

absl::Status Replayer::Add(uint32_t partition, common::v1::EventEnvelope env) {
  if (service_ != "registry") return Apply(partition, env);
  if (FromProto(env.recorded_time()) > as_of_) return absl::OkStatus();
  ++events_;
  partitions_[partition].push_back(std::move(env));
  return absl::OkStatus();
}

absl::Status Replayer::Apply(uint32_t partition,
                             const common::v1::EventEnvelope& env) {
  if (service_ == "registry") return Add(partition, env);
  if (FromProto(env.recorded_time()) > as_of_) return absl::OkStatus();
  ++events_;
  if (service_ == "intake")
    return ReplayIntakeEvent(partition, env, report_rows_);
  if (service_ == "supervision") {
    return ReplayStreamEvent(
        env, "case/", "cases", cases_,
        [](supervision::v1::CaseRecord& c, const common::v1::EventEnvelope& e) {
          return supervision::Evolve(c, e).status();
        });
  }
  if (service_ == "oversight") {
    return ReplayStreamEvent(
        env, "notice/", "notices", notices_,
        [](oversight::v1::NoticeRecord& n,
           const common::v1::EventEnvelope& e) -> absl::Status {
          auto event = domain::Unpack(e);
          if (!event.ok()) return event.status();
          return oversight::Evolve(n, **event, FromProto(e.occurred_time()));
        });
  }
  if (service_ == "dispatch") {
    return ReplayStreamEvent(
        env, "task/", "tasks", tasks_,
        [](dispatch::v1::TaskRecord& t, const common::v1::EventEnvelope& e) {
          return dispatch::Evolve(t, e);
        });
  }
  return absl::OkStatus();  // a service without projections to replay
}

absl::StatusOr<ReplayedState> Replayer::Finish() {
  if (service_ == "registry") return ReplayRegistry(partitions_);
  if (service_ == "supervision") {
    ReplayedState out;
    auto& rows = out["cases"];
    for (auto& [stream, c] : cases_) {  // "case/" + id: in case id order
      rows.Append(absl::string_view(stream).substr(5), c.SerializeAsString());
    }
    cases_.clear();
    return out;
  }
  if (service_ == "oversight") {
    ReplayedState out;
    auto& rows = out["notices"];
    for (auto& [stream, n] : notices_)
      rows.Append(absl::string_view(stream).substr(7), n.SerializeAsString());
    notices_.clear();
    return out;
  }
  if (service_ == "dispatch") {
    ReplayedState out;
    auto& rows = out["tasks"];
    for (auto& [stream, t] : tasks_) rows.Append(stream, t.SerializeAsString());
    tasks_.clear();
    return out;
  }
  if (service_ == "intake") {
    ReplayedState out;
    report_rows_.SortByKey();
    out["reports"] = std::move(report_rows_);
    return out;
  }
  return absl::UnimplementedError(
      absl::StrCat("no replay for service ", service_));
}

std::vector<ProjectionComparison> Compare(
    const ReplayedState& replayed, const common::v1::StateDigest& reported,
    common::v1::HashAlgorithm algorithm) {
  std::vector<ProjectionComparison> out;
  for (const auto& [name, rows] : replayed) {
    ProjectionComparison c;
    c.name = name;
    eventstore::RowDigest digest(algorithm);
    for (const auto& [key, row] : rows) digest.Add(key, row);
    std::tie(c.replayed_digest, c.replayed_rows) = digest.Finish();
    for (const auto& d : reported.projections()) {
      if (d.name() != name) continue;
      c.reported_digest = d.digest();
      c.reported_rows = d.rows();
    }
    c.match = !c.reported_digest.empty() &&
              c.reported_digest == c.replayed_digest &&
              c.reported_rows == c.replayed_rows;
    out.push_back(std::move(c));
  }
  return out;
}

std::string StateJson(const ReplayedState& state) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, rows] : state) {
    nlohmann::json& projection = out[name] = nlohmann::json::object();
    for (const auto& [key, row] : rows) {
      intake::v1::Report report;
      std::string json;
      if (name == "reports" && report.ParseFromArray(row.data(), row.size()) &&
          google::protobuf::util::MessageToJsonString(report, &json).ok()) {
        projection[std::string(key)] =
            nlohmann::json::parse(json, nullptr, false);
      } else {
        projection[std::string(key)] = std::string(row);
      }
    }
  }
  return out.dump(2);
}

}  // namespace wangge::audit
