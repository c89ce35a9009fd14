#ifndef WANGGE_SERVICES_AUDIT_PARALLEL_H_
#define WANGGE_SERVICES_AUDIT_PARALLEL_H_

// Verify and replay in one pass over a service's history held in memory:
// partitions are independent, so they are spread over threads; each record
// is parsed once for both.

#include <vector>

#include "absl/status/statusor.h"
#include "services/audit/replay.h"
#include "services/audit/verifier.h"

namespace wangge::audit {

struct VerifiedReplay {
  std::vector<PartitionReport> reports;  // by partition
  absl::StatusOr<ReplayedState> state;
};

// `partitions[p]` holds partition p's events in sequence order.
VerifiedReplay VerifyAndReplay(
    const std::string& service,
    const std::vector<std::vector<common::v1::StoredEvent>>& partitions,
    const crypto::Hasher* hasher, std::vector<const crypto::Verifier*> keys,
    int threads);

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_PARALLEL_H_
