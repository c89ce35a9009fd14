#ifndef WANGGE_SERVICES_REGISTRY_APP_REGISTRY_APP_H_
#define WANGGE_SERVICES_REGISTRY_APP_REGISTRY_APP_H_

// The registry's command and query handlers: the state (rebuilt from the
// store at start), decisions, appends, and the locate index that is swapped
// in after each change. The gRPC server is a thin shell over this.
//
// Thread safety: commands are serialised by a mutex (reference data changes
// rarely); queries read an immutable snapshot (state + index) and never
// wait for a command.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/common/eventstore/event_store.h"
#include "services/registry/domain/area_index.h"
#include "services/registry/domain/registry_state.h"

namespace wangge::registry {

inline constexpr char kAreasProjection[] = "areas";

struct Snapshot {
  RegistryState state;
  std::unique_ptr<AreaIndex> index;
};

struct ImportResult {
  uint32_t areas = 0;
  uint64_t policy_version = 0;
  std::vector<wangge::common::v1::Position> positions;
  bool duplicate = false;
};

class RegistryApp {
 public:
  explicit RegistryApp(eventstore::EventStore* store);

  // Replays the store (deployment stream first, then every partition).
  absl::Status Load();

  absl::StatusOr<ImportResult> Import(const std::string& request_id,
                                      const Deployment& deployment,
                                      const wangge::common::v1::Actor& actor);

  std::shared_ptr<const Snapshot> snapshot() const;

 private:
  // A retried import's answer: the first one.
  ImportResult FirstImport(const eventstore::AppendResult& first);
  absl::Status Publish(RegistryState state);

  eventstore::EventStore* const store_;
  absl::Mutex command_mu_;
  mutable absl::Mutex snapshot_mu_;
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(snapshot_mu_);
};

}  // namespace wangge::registry

#endif  // WANGGE_SERVICES_REGISTRY_APP_REGISTRY_APP_H_
