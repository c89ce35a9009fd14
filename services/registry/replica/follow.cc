#include "services/registry/replica/follow.h"

#include "services/common/status/status_macros.h"

namespace wangge::registry {

absl::StatusOr<FollowedRegistry> FollowRegistry(
    server::ServiceContext& context) {
  FollowedRegistry out;
  out.replica = std::make_shared<RegistryReplica>(context.store);
  RETURN_IF_ERROR(out.replica->Load());
  auto replica = out.replica;
  ASSIGN_OR_RETURN(out.follower,
                   server::FollowSource(
                       context, "registry",
                       [replica](const common::v1::EventEnvelope& env) {
                         return replica->Effects(env);
                       },
                       [replica](const common::v1::EventEnvelope& env) {
                         replica->OnApplied(env);
                       }));
  context.projections->push_back(kRegistryProjection);
  return out;
}

}  // namespace wangge::registry
