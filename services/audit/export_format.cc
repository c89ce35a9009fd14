#include "services/audit/export_format.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "services/common/clock/proto_time.h"

namespace wangge::audit {

std::string PayloadJson(const wangge::common::v1::EventEnvelope& env) {
  const auto* desc =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          env.event_type());
  if (desc == nullptr) return "";
  std::unique_ptr<google::protobuf::Message> m(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(desc)
          ->New());
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!m->ParseFromString(env.payload().value()) ||
      !google::protobuf::util::MessageToJsonString(*m, &json, options).ok()) {
    return "";
  }
  return json;
}

std::string ExportLine(const std::string& service, uint32_t partition,
                       const wangge::common::v1::StoredEvent& event) {
  nlohmann::ordered_json line;
  line["service"] = service;
  line["partition"] = partition;
  wangge::common::v1::EventEnvelope env;
  const bool parsed = env.ParseFromString(event.record());
  line["sequence"] = parsed ? env.sequence() : 0;
  line["record"] = absl::Base64Escape(event.record());
  line["leaf_hash"] = absl::BytesToHexString(event.leaf_hash());
  line["chain_hash"] = absl::BytesToHexString(event.chain_hash());
  if (parsed) {
    line["event_type"] = env.event_type();
    line["stream_id"] = env.stream_id();
    line["occurred_time"] = Rfc3339(FromProto(env.occurred_time()));
    // The payload, decoded for reading (never used by the checks).
    const std::string payload = PayloadJson(env);
    if (!payload.empty())
      line["payload"] = nlohmann::json::parse(payload, nullptr, false);
  }
  return line.dump();
}

absl::StatusOr<ExportedEvent> ParseExportLine(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("record") ||
      !j.contains("service") || !j.contains("partition")) {
    return absl::InvalidArgumentError("not an export line");
  }
  ExportedEvent out;
  out.service = j["service"].get<std::string>();
  out.partition = j["partition"].get<uint32_t>();
  std::string record;
  if (!absl::Base64Unescape(j["record"].get<std::string>(), &record)) {
    return absl::InvalidArgumentError("record is not base64");
  }
  out.event.set_record(record);
  out.event.set_leaf_hash(absl::HexStringToBytes(j.value("leaf_hash", "")));
  out.event.set_chain_hash(absl::HexStringToBytes(j.value("chain_hash", "")));
  return out;
}

}  // namespace wangge::audit
