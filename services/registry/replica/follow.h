#ifndef WANGGE_SERVICES_REGISTRY_REPLICA_FOLLOW_H_
#define WANGGE_SERVICES_REGISTRY_REPLICA_FOLLOW_H_

// A service's registry copy, loaded from its store and kept following the
// registry's topic (services' main() wiring).

#include <memory>

#include "absl/status/statusor.h"
#include "services/common/server/service_main.h"
#include "services/registry/replica/registry_replica.h"

namespace wangge::registry {

struct FollowedRegistry {
  std::shared_ptr<RegistryReplica> replica;
  std::shared_ptr<eventbus::Consumer> follower;  // null without --registry_addr
};

absl::StatusOr<FollowedRegistry> FollowRegistry(
    server::ServiceContext& context);

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_REPLICA_FOLLOW_H_
