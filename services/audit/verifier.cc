#include "services/audit/verifier.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace wangge::audit {

bool OwnedBy(const std::string& event_type, const std::string& service) {
  return absl::StartsWith(event_type,
                          absl::StrCat("wangge.", service, ".v1.")) ||
         absl::StartsWith(event_type, "wangge.common.v1.");
}

Violation ViolationAt(const wangge::common::v1::EventEnvelope& e,
                      std::string check, const std::string& message) {
  Violation v;
  v.service = e.source_service();
  v.partition = e.partition();
  v.sequence = e.sequence();
  v.check = std::move(check);
  v.message = absl::StrCat(e.event_type(), " ", e.stream_id(), ": ", message);
  return v;
}

PartitionVerifier::PartitionVerifier(std::string service, uint32_t partition,
                                     const crypto::Hasher* hasher,
                                     const crypto::Verifier* verifier)
    : PartitionVerifier(std::move(service), partition, hasher,
                        verifier == nullptr
                            ? std::vector<const crypto::Verifier*>{}
                            : std::vector<const crypto::Verifier*>{verifier}) {}

PartitionVerifier::PartitionVerifier(std::string service, uint32_t partition,
                                     const crypto::Hasher* hasher,
                                     std::vector<const crypto::Verifier*> keys)
    : service_(std::move(service)),
      partition_(partition),
      hasher_(hasher),
      keys_(std::move(keys)),
      range_(hasher) {
  report_.service = service_;
  report_.partition = partition_;
}

void PartitionVerifier::Flag(uint64_t sequence, const std::string& check,
                             const std::string& message) {
  report_.violations.push_back(
      {service_, partition_, sequence, check, message});
}

void PartitionVerifier::ExpectPrefix(
    const wangge::common::v1::Checkpoint& saved) {
  saved_ = saved;
  if (saved.tree_size() == 0) saved_checked_ = true;
}

void PartitionVerifier::Add(const wangge::common::v1::StoredEvent& event,
                            const wangge::common::v1::EventEnvelope* parsed) {
  ++report_.events;
  if (broken_) return;
  const uint64_t seq = expected_;
  if (merkle::LeafHash(*hasher_, event.record()) != event.leaf_hash()) {
    Flag(seq, "leaf_hash", "the record does not match its leaf hash");
    broken_ = true;
    return;
  }
  if (hasher_->Hash2(chain_, event.leaf_hash()) != event.chain_hash()) {
    Flag(seq, "chain",
         "the chain hash does not follow from the previous event");
    broken_ = true;
    return;
  }
  wangge::common::v1::EventEnvelope own;
  if (parsed == nullptr) {
    if (!own.ParseFromString(event.record())) {
      Flag(seq, "record", "the record does not parse");
      broken_ = true;
      return;
    }
    parsed = &own;
  }
  const wangge::common::v1::EventEnvelope& env = *parsed;
  if (env.partition() != partition_ || env.sequence() != seq) {
    Flag(seq, env.sequence() > seq ? "gap" : "position",
         absl::StrCat("expected ", partition_, "/", seq, ", the record says ",
                      env.partition(), "/", env.sequence()));
    broken_ = true;
    return;
  }
  if (env.source_service() != service_) {
    Flag(seq, "source", absl::StrCat("written by ", env.source_service()));
  }
  if (!OwnedBy(env.event_type(), service_)) {
    Flag(seq, "ownership",
         absl::StrCat(env.event_type(), " may not be written by ", service_));
  }
  if (env.event_type() == "wangge.common.v1.Checkpoint") {
    wangge::common::v1::Checkpoint c;
    if (!c.ParseFromString(env.payload().value())) {
      Flag(seq, "checkpoint", "the checkpoint does not parse");
    } else {
      ++report_.checkpoints;
      const bool matches =
          c.tree_size() == seq - 1 && c.merkle_root() == range_.Root() &&
          c.chain_hash() == chain_ && c.partition() == partition_ &&
          c.service() == service_;
      if (!matches) {
        Flag(seq, "checkpoint_root",
             absl::StrCat("the checkpoint of tree size ", c.tree_size(),
                          " does not match the log before it"));
      }
      const bool signed_by_a_key =
          std::any_of(keys_.begin(), keys_.end(), [&](const auto* key) {
            return crypto::VerifyCheckpoint(*key, c).ok();
          });
      if (keys_.empty()) {
        Flag(seq, "signature", "no public key given: signature not checked");
      } else if (!signed_by_a_key) {
        Flag(seq, "signature",
             absl::StrCat("the checkpoint signature (key ", c.key_id(),
                          ") does not verify"));
      }
      if (matches && signed_by_a_key) signed_through_ = seq;
      report_.last_checkpoint = c;
    }
  }
  range_.Extend(event.leaf_hash());
  chain_ = event.chain_hash();
  ++expected_;
  // An earlier audit's checkpoint: the tree at its size must have its root.
  if (saved_ && !saved_checked_ && range_.size() == saved_->tree_size()) {
    saved_checked_ = true;
    if (range_.Root() != saved_->merkle_root()) {
      Flag(seq, "consistency",
           absl::StrCat("the log no longer extends the checkpoint of size ",
                        saved_->tree_size(), " saved by an earlier audit"));
    }
  }
}

PartitionReport PartitionVerifier::Finish() {
  const uint64_t last = expected_ - 1;
  report_.unsigned_events = last - std::min(last, signed_through_);
  if (!broken_ && !keys_.empty() && max_unsigned_ > 0 &&
      report_.unsigned_events > max_unsigned_) {
    Flag(signed_through_ + 1, "unsigned",
         absl::StrCat(report_.unsigned_events, " events from sequence ",
                      signed_through_ + 1,
                      " on are covered by no signed checkpoint (at most ",
                      max_unsigned_,
                      " expected): checkpoints may have been removed"));
  }
  if (saved_ && !saved_checked_ && !broken_) {
    Flag(expected_, "consistency",
         absl::StrCat("the log is shorter (", expected_ - 1,
                      " events) than the saved checkpoint's tree (",
                      saved_->tree_size(), ")"));
  }
  return report_;
}

std::string ReportJson(const std::vector<PartitionReport>& reports) {
  nlohmann::ordered_json out;
  out["partitions"] = nlohmann::json::array();
  out["violations"] = nlohmann::json::array();
  size_t violations = 0;
  for (const auto& r : reports) {
    nlohmann::ordered_json p;
    p["service"] = r.service;
    p["partition"] = r.partition;
    p["events"] = r.events;
    p["checkpoints"] = r.checkpoints;
    p["unsigned_events"] = r.unsigned_events;
    if (r.last_checkpoint) {
      p["last_checkpoint"] = {
          {"tree_size", r.last_checkpoint->tree_size()},
          {"merkle_root",
           absl::BytesToHexString(r.last_checkpoint->merkle_root())},
          {"key_id", r.last_checkpoint->key_id()}};
    }
    out["partitions"].push_back(p);
    for (const auto& v : r.violations) {
      out["violations"].push_back({{"service", v.service},
                                   {"partition", v.partition},
                                   {"sequence", v.sequence},
                                   {"check", v.check},
                                   {"message", v.message}});
      ++violations;
    }
  }
  out["ok"] = violations == 0;
  return out.dump(2);
}

}  // namespace wangge::audit
