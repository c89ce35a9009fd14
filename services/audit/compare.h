#ifndef WANGGE_SERVICES_AUDIT_COMPARE_H_
#define WANGGE_SERVICES_AUDIT_COMPARE_H_

// Two sources of the same history (a service's ReadLog, an export, later a
// Kafka topic) compared event by event: every (service, partition,
// sequence) must hold the same record and hashes in both.

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "services/common/crypto/crypto.h"
#include "wangge/common/v1/envelope.pb.h"

namespace wangge::audit {

struct SourceDifference {
  std::string service;
  uint32_t partition = 0;
  uint64_t sequence = 0;
  // "only in left", "only in right", "record differs", "hashes differ",
  // "conflicting copies in left" / "... in right" (one source holds two
  // different events at one position: a replayed topic with a forgery; the
  // first copy, the one consumers applied, is the one compared).
  std::string what;
};

class SourceComparer {
 public:
  SourceComparer() : hasher_(common::v1::HASH_ALGORITHM_SHA256) {}

  // The sequence is taken from the record (its position in the log).
  void AddLeft(const std::string& service, uint32_t partition,
               const common::v1::StoredEvent& event);
  void AddRight(const std::string& service, uint32_t partition,
                const common::v1::StoredEvent& event);

  // In (service, partition, sequence) order. With `right_may_be_older`
  // (an export taken earlier than the live read), left events past the
  // right's last sequence of their partition are counted in newer_left()
  // instead of listed. `left_events`/`right_events` count what was read.
  std::vector<SourceDifference> Finish(bool right_may_be_older = false);
  uint64_t newer_left() const { return newer_left_; }
  uint64_t left_events() const { return left_events_; }
  uint64_t right_events() const { return right_events_; }

 private:
  using Key = std::tuple<std::string, uint32_t, uint64_t>;
  struct Seen {
    std::string record_digest;  // SHA-256 of the record bytes
    std::string hashes;         // leaf || chain as stated
  };
  void Add(std::map<Key, Seen>& side, const char* name,
           const std::string& service, uint32_t partition,
           const common::v1::StoredEvent& event);

  crypto::Hasher hasher_;
  std::map<Key, Seen> left_, right_;
  std::vector<SourceDifference> conflicts_;
  uint64_t left_events_ = 0, right_events_ = 0, newer_left_ = 0;
};

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_COMPARE_H_
