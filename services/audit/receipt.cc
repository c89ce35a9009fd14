#include "services/audit/receipt.h"

#include <google/protobuf/util/json_util.h>

#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/merkle/merkle.h"
#include "wangge/common/v1/envelope.pb.h"

namespace wangge::audit {

namespace {

// The checkpoint as a person reads it (proto field names).
nlohmann::json ReadableCheckpoint(const wangge::common::v1::Checkpoint& c) {
  std::string readable;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(c, &readable, o);
  return nlohmann::json::parse(readable, nullptr, false);
}

}  // namespace

std::string ReceiptToJson(const Receipt& r) {
  nlohmann::ordered_json j;
  j["service"] = r.service;
  j["partition"] = r.partition;
  j["leaf_index"] = r.leaf_index;
  j["record"] = absl::Base64Escape(r.record);
  j["leaf_hash"] = absl::BytesToHexString(r.leaf_hash);
  j["proof"] = nlohmann::json::array();
  for (const auto& h : r.proof) j["proof"].push_back(absl::BytesToHexString(h));
  j["checkpoint"] = absl::Base64Escape(r.checkpoint.SerializeAsString());
  j["checkpoint_readable"] = ReadableCheckpoint(r.checkpoint);
  return j.dump(2);
}

namespace {

// Base64 only as the writer spells it. A decoder ignores the unused low bits
// of a padded last group, so other texts decode to the same bytes: one
// receipt would have many spellings, and a changed character could pass.
bool UnescapeCanonicalBase64(const std::string& text, std::string* out) {
  return absl::Base64Unescape(text, out) && absl::Base64Escape(*out) == text;
}

// Hex likewise: absl's decoder reads any character and an odd tail without
// complaint ("AB0g" as "ab00"); only lower-case pairs, as written, are read.
bool CanonicalHexToBytes(const std::string& text, std::string* out) {
  *out = absl::HexStringToBytes(text);
  return text.size() % 2 == 0 && absl::BytesToHexString(*out) == text;
}

}  // namespace

absl::StatusOr<Receipt> ReceiptFromJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("not a receipt");
  }
  Receipt r;
  try {
    r.service = j.at("service").get<std::string>();
    r.partition = j.at("partition").get<uint32_t>();
    r.leaf_index = j.at("leaf_index").get<uint64_t>();
    if (!UnescapeCanonicalBase64(j.at("record").get<std::string>(),
                                 &r.record)) {
      return absl::InvalidArgumentError("record is not base64");
    }
    if (!CanonicalHexToBytes(j.at("leaf_hash").get<std::string>(),
                             &r.leaf_hash)) {
      return absl::InvalidArgumentError("leaf_hash is not lower-case hex");
    }
    for (const auto& h : j.at("proof")) {
      std::string node;
      if (!CanonicalHexToBytes(h.get<std::string>(), &node)) {
        return absl::InvalidArgumentError("proof is not lower-case hex");
      }
      r.proof.push_back(std::move(node));
    }
    std::string checkpoint;
    if (!UnescapeCanonicalBase64(j.at("checkpoint").get<std::string>(),
                                 &checkpoint) ||
        !r.checkpoint.ParseFromString(checkpoint)) {
      return absl::InvalidArgumentError("checkpoint does not parse");
    }
    // The copy a person reads must say what the signed one says.
    if (j.at("checkpoint_readable") != ReadableCheckpoint(r.checkpoint)) {
      return absl::InvalidArgumentError(
          "checkpoint_readable differs from the signed checkpoint");
    }
    // Exactly the fields a receipt has: nothing renamed, dropped or added.
    static const std::set<std::string> kFields = {
        "service",   "partition", "leaf_index", "record",
        "leaf_hash", "proof",     "checkpoint", "checkpoint_readable"};
    for (const auto& [field, value] : j.items()) {
      if (!kFields.count(field)) {
        return absl::InvalidArgumentError(
            absl::StrCat("a receipt has no field ", field));
      }
    }
  } catch (const std::exception& e) {
    // nlohmann reports type errors by exception; keep them inside.
    return absl::InvalidArgumentError(absl::StrCat("receipt: ", e.what()));
  }
  return r;
}

absl::Status CheckReceipt(const Receipt& r, const crypto::Verifier& key) {
  const crypto::Hasher h(r.checkpoint.hash_algorithm() ==
                                 common::v1::HASH_ALGORITHM_SM3
                             ? common::v1::HASH_ALGORITHM_SM3
                             : common::v1::HASH_ALGORITHM_SHA256);
  if (merkle::LeafHash(h, r.record) != r.leaf_hash) {
    return absl::DataLossError("the record does not match the leaf hash");
  }
  wangge::common::v1::EventEnvelope env;
  if (!env.ParseFromString(r.record) || env.partition() != r.partition ||
      env.sequence() != r.leaf_index + 1 || env.source_service() != r.service) {
    return absl::DataLossError("the record is not at the receipt's position");
  }
  if (r.checkpoint.service() != r.service ||
      r.checkpoint.partition() != r.partition) {
    return absl::DataLossError("the checkpoint is for another log");
  }
  absl::Status s =
      merkle::VerifyInclusion(h, r.leaf_index, r.checkpoint.tree_size(),
                              r.leaf_hash, r.proof, r.checkpoint.merkle_root());
  if (!s.ok()) return s;
  return crypto::VerifyCheckpoint(key, r.checkpoint);
}

}  // namespace wangge::audit
