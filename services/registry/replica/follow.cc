#include "services/registry/replica/follow.h"

#include "services/common/status/status_macros.h"

namespace wangge::registry {

absl::StatusOr<FollowedRegistry> FollowRegistry(
    server::ServiceContext& context) {
  FollowedRegistry out;
  // Its users (supervision, dispatch, oversight) need the area tree,
  // policies and staff, never geometry (intake, which locates reports,
  // keeps its own full copy).
  out.replica = std::make_shared<RegistryReplica>(context.store,
                                                  /*keep_boundaries=*/false);
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
