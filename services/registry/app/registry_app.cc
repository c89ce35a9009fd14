#include "services/registry/app/registry_app.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/status/status_macros.h"

namespace wangge::registry {

RegistryApp::RegistryApp(eventstore::EventStore* store) : store_(store) {
  auto empty = std::make_shared<Snapshot>();
  empty->index = std::make_unique<AreaIndex>(empty->state);
  snapshot_ = std::move(empty);
}

std::shared_ptr<const Snapshot> RegistryApp::snapshot() const {
  absl::MutexLock lock(&snapshot_mu_);
  return snapshot_;
}

absl::Status RegistryApp::Publish(RegistryState state) {
  auto next = std::make_shared<Snapshot>();
  next->state = std::move(state);
  next->index = std::make_unique<AreaIndex>(next->state);
  absl::MutexLock lock(&snapshot_mu_);
  snapshot_ = std::move(next);
  return absl::OkStatus();
}

absl::Status RegistryApp::Load() {
  absl::MutexLock lock(&command_mu_);
  RegistryState state;
  ASSIGN_OR_RETURN(auto deployment, store_->ReadStream(kDeploymentStream));
  for (const auto& e : deployment) {
    ASSIGN_OR_RETURN(auto env, store_->Decode(e));
    RETURN_IF_ERROR(Evolve(state, env));
  }
  for (int p = 0; p < store_->partitions(); ++p) {
    absl::Status inner;
    RETURN_IF_ERROR(store_->ScanPartition(
        p, 1, [&](uint64_t, const eventstore::StoredEventView& view) {
          wangge::common::v1::EventEnvelope env;
          if (!env.ParseFromArray(view.record.data(), view.record.size())) {
            inner = absl::DataLossError("record does not parse");
            return false;
          }
          if (env.stream_id() == kDeploymentStream) return true;
          inner = Evolve(state, env);
          return inner.ok();
        }));
    RETURN_IF_ERROR(inner);
  }
  return Publish(std::move(state));
}

absl::StatusOr<ImportResult> RegistryApp::Import(
    const std::string& request_id, const Deployment& deployment,
    const wangge::common::v1::Actor& actor) {
  absl::MutexLock lock(&command_mu_);
  const std::string command_id =
      request_id.empty() ? "" : "import/" + request_id;
  if (!command_id.empty()) {
    // A retry returns the first result: nothing is decided or written again.
    ASSIGN_OR_RETURN(auto first, store_->CommandResult(command_id));
    if (first) return FirstImport(*first);
  }
  RegistryState state = snapshot()->state;
  ASSIGN_OR_RETURN(std::vector<RegistryEvent> events,
                   DecideImport(state, deployment));
  eventstore::AppendRequest request;
  request.command_id = command_id;
  request.actor = actor;
  absl::flat_hash_map<std::string, size_t> stream_index;
  for (const RegistryEvent& e : events) {
    const std::string stream = StreamOf(e);
    auto [it, inserted] = stream_index.emplace(stream, request.streams.size());
    if (inserted) {
      eventstore::StreamAppend sa;
      sa.stream_id = stream;
      request.streams.push_back(std::move(sa));
    }
    eventstore::NewEvent event = eventstore::MakeEvent(PayloadOf(e));
    event.policy_version = absl::StrCat(state.applied);
    request.streams[it->second].events.push_back(std::move(event));
    RETURN_IF_ERROR(Evolve(state, e));
  }
  // Every area an event touched gets its final row (a redraw or retirement
  // changes the row as much as a creation does).
  std::set<std::string> touched;
  for (const RegistryEvent& e : events) {
    if (const auto* c = std::get_if<v1::AreaCreated>(&e))
      touched.insert(c->code());
    if (const auto* r = std::get_if<v1::AreaRedrawn>(&e))
      touched.insert(r->code());
    if (const auto* r = std::get_if<v1::AreaRetired>(&e))
      touched.insert(r->code());
  }
  for (const std::string& code : touched) {
    if (const Area* area = state.Find(code)) {
      request.projection_writes.push_back(
          {kAreasProjection, code, AreaProjectionRow(*area)});
    }
  }
  ImportResult result;
  result.areas = static_cast<uint32_t>(deployment.areas.size());
  result.policy_version = state.applied;
  // Kept with the command: "<areas>/<policy version>", a retry's answer.
  request.command_response =
      absl::StrCat(result.areas, "/", result.policy_version);
  ASSIGN_OR_RETURN(eventstore::AppendResult appended,
                   store_->Append(std::move(request)));
  if (appended.duplicate) return FirstImport(appended);  // raced a retry
  result.positions = appended.positions;
  RETURN_IF_ERROR(Publish(std::move(state)));
  return result;
}

ImportResult RegistryApp::FirstImport(const eventstore::AppendResult& first) {
  ImportResult result;
  result.positions = first.positions;
  result.duplicate = true;
  std::pair<std::string, std::string> parts =
      absl::StrSplit(first.command_response, '/');
  if (!absl::SimpleAtoi(parts.first, &result.areas) ||
      !absl::SimpleAtoi(parts.second, &result.policy_version)) {
    // Recorded before answers were kept.
    result.policy_version = snapshot()->state.applied;
  }
  return result;
}

}  // namespace wangge::registry
