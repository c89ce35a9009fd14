#ifndef WANGGE_SERVICES_REGISTRY_REPLICA_REGISTRY_REPLICA_H_
#define WANGGE_SERVICES_REGISTRY_REPLICA_REGISTRY_REPLICA_H_

// A service's own copy of the registry (areas, policies, staff), kept from
// the registry's topic: each registry event is stored as a row of this
// service's "registry" projection in the same write as its consumed
// position, then applied with the registry's own Evolve. Reference data
// never needs a registry call on the hot path.
//
// Thread safety: every method may be called from any thread.

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/common/eventstore/event_store.h"
#include "services/registry/domain/registry_state.h"

namespace wangge::registry {

inline constexpr char kRegistryProjection[] = "registry";

class RegistryReplica {
 public:
  // `keep_boundaries`: see RegistryState (false for a service that never
  // locates a point).
  explicit RegistryReplica(eventstore::EventStore* store,
                           bool keep_boundaries = true)
      : store_(store) {
    state_.keep_boundaries = keep_boundaries;
  }

  // Rebuilds the copy from the store's rows.
  absl::Status Load();

  // The consumer's handler and after_apply for the registry's topic.
  absl::StatusOr<eventstore::AppendRequest> Effects(
      const common::v1::EventEnvelope& env) const;
  void OnApplied(const common::v1::EventEnvelope& env);

  // Runs `fn` with the state under a shared lock.
  template <typename Fn>
  auto Read(Fn&& fn) const {
    absl::ReaderMutexLock lock(&mu_);
    return fn(static_cast<const RegistryState&>(state_));
  }
  // Bumped at every change (callers rebuild derived indexes).
  uint64_t generation() const;

 private:
  eventstore::EventStore* const store_;
  mutable absl::Mutex mu_;
  RegistryState state_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_REPLICA_REGISTRY_REPLICA_H_
