#ifndef WANGGE_SERVICES_AUDIT_RECEIPT_H_
#define WANGGE_SERVICES_AUDIT_RECEIPT_H_

// A self-contained receipt that an event (a report) is in a service's log:
// the record, its leaf hash, an RFC 6962 inclusion proof and the signed
// checkpoint it leads to. A reporter or an outside system checks it offline
// with the service's public key: nothing else is trusted.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/crypto/crypto.h"
#include "wangge/common/v1/checkpoint.pb.h"

namespace wangge::audit {

struct Receipt {
  std::string service;
  uint32_t partition = 0;
  uint64_t leaf_index = 0;
  std::string record;  // the stored record bytes
  std::string leaf_hash;
  std::vector<std::string> proof;
  wangge::common::v1::Checkpoint checkpoint;
};

std::string ReceiptToJson(const Receipt& r);
absl::StatusOr<Receipt> ReceiptFromJson(const std::string& json);

// OK only when every step holds: the record hashes to the leaf, the leaf is
// at leaf_index in the checkpoint's tree, the checkpoint names this
// service/partition and its signature verifies with `key`.
absl::Status CheckReceipt(const Receipt& r, const crypto::Verifier& key);

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_RECEIPT_H_
