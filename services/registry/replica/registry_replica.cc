#include "services/registry/replica/registry_replica.h"

#include <vector>

#include "services/common/status/status_macros.h"

namespace wangge::registry {

absl::Status RegistryReplica::Load() {
  std::vector<common::v1::EventEnvelope> deployment, rest;
  absl::Status inner;
  RETURN_IF_ERROR(store_->ScanProjection(
      kRegistryProjection, "",
      [&](const std::string&, const std::string& value) {
        common::v1::EventEnvelope env;
        if (!env.ParseFromString(value)) {
          inner = absl::DataLossError("registry row does not parse");
          return false;
        }
        (env.stream_id() == kDeploymentStream ? deployment : rest)
            .push_back(std::move(env));
        return true;
      }));
  RETURN_IF_ERROR(inner);
  absl::MutexLock lock(&mu_);
  // The deployment's levels first: areas need them.
  for (const auto& env : deployment) RETURN_IF_ERROR(Evolve(state_, env));
  for (const auto& env : rest) RETURN_IF_ERROR(Evolve(state_, env));
  ++generation_;
  return absl::OkStatus();
}

absl::StatusOr<eventstore::AppendRequest> RegistryReplica::Effects(
    const common::v1::EventEnvelope& env) const {
  eventstore::AppendRequest r;
  r.projection_writes.push_back(
      {kRegistryProjection,
       eventstore::EventKey(env.partition(), env.sequence()),
       env.SerializeAsString()});
  return r;
}

void RegistryReplica::OnApplied(const common::v1::EventEnvelope& env) {
  absl::MutexLock lock(&mu_);
  // Only the registry's own types reach here (the consumer dead-letters
  // others); one that does not apply is skipped like in Load.
  if (Evolve(state_, env).ok()) ++generation_;
}

uint64_t RegistryReplica::generation() const {
  absl::ReaderMutexLock lock(&mu_);
  return generation_;
}

}  // namespace wangge::registry
