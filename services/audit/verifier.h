#ifndef WANGGE_SERVICES_AUDIT_VERIFIER_H_
#define WANGGE_SERVICES_AUDIT_VERIFIER_H_

// Verifies one partition of a service's log from its stored events alone,
// trusting nothing the service says: each record's leaf hash, the chain,
// gapless sequences, the record's claimed position, event ownership (each
// type only from its owner's log), the RFC 6962 root at every checkpoint,
// each checkpoint's signature with the service's public key, and, given a
// checkpoint saved by an earlier audit, that the log still extends it.
//
// Thread safety: one verifier per partition; not shared.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "services/common/crypto/crypto.h"
#include "services/common/merkle/merkle.h"
#include "wangge/common/v1/checkpoint.pb.h"
#include "wangge/common/v1/envelope.pb.h"

namespace wangge::audit {

struct Violation {
  std::string service;
  uint32_t partition = 0;
  uint64_t sequence = 0;
  std::string check;  // "leaf_hash", "chain", "gap", "position", ...
  std::string message;
};

struct PartitionReport {
  std::string service;
  uint32_t partition = 0;
  uint64_t events = 0;
  uint64_t checkpoints = 0;
  // Events after the last checkpoint whose root and signature verified.
  uint64_t unsigned_events = 0;
  std::vector<Violation> violations;
  // The last checkpoint seen (for the next audit's consistency check).
  std::optional<wangge::common::v1::Checkpoint> last_checkpoint;
};

class PartitionVerifier {
 public:
  // `verifier` may be null: signatures are then not checked (reported).
  PartitionVerifier(std::string service, uint32_t partition,
                    const crypto::Hasher* hasher,
                    const crypto::Verifier* verifier);
  // Several keys of the service (before and after a rotation): a
  // checkpoint verifies if one of them verifies it.
  PartitionVerifier(std::string service, uint32_t partition,
                    const crypto::Hasher* hasher,
                    std::vector<const crypto::Verifier*> keys);

  // Feeds the next stored event (in the order received). Stops recording
  // after the first violation of the chain (later ones follow from it), but
  // keeps counting.
  // `parsed`, when given, is the event's record already parsed (by a caller
  // that also replays it): the record is then not parsed again.
  void Add(const wangge::common::v1::StoredEvent& event,
           const wangge::common::v1::EventEnvelope* parsed = nullptr);
  // A checkpoint saved by an earlier audit: the log must extend it.
  void ExpectPrefix(const wangge::common::v1::Checkpoint& saved);
  // At most this many events may follow the last signed checkpoint (the
  // store signs one every N events or T seconds): a longer unsigned run, or
  // a long log with none, means checkpoints were removed and the hashes
  // recomputed, which no hash check alone can see. 0: not checked.
  void SetMaxUnsigned(uint64_t events) { max_unsigned_ = events; }
  PartitionReport Finish();

 private:
  void Flag(uint64_t sequence, const std::string& check,
            const std::string& message);

  const std::string service_;
  const uint32_t partition_;
  const crypto::Hasher* hasher_;
  std::vector<const crypto::Verifier*> keys_;
  merkle::CompactRange range_;
  std::string chain_;
  uint64_t expected_ = 1;
  bool broken_ = false;
  std::optional<wangge::common::v1::Checkpoint> saved_;
  bool saved_checked_ = false;
  uint64_t max_unsigned_ = 0;
  // The last sequence a verified checkpoint covers (itself included).
  uint64_t signed_through_ = 0;
  PartitionReport report_;
};

// A violation of an invariant at the event `e` ("<type> <stream>: message").
Violation ViolationAt(const wangge::common::v1::EventEnvelope& e,
                      std::string check, const std::string& message);

// "wangge.<service>.v1.*" and "wangge.common.v1.*" belong to <service>'s log.
bool OwnedBy(const std::string& event_type, const std::string& service);

// The report as JSON (one object: partitions with counts, violations).
std::string ReportJson(const std::vector<PartitionReport>& reports);

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_VERIFIER_H_
