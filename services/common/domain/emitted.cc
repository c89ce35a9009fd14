#include "services/common/domain/emitted.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace wangge::domain {

std::vector<eventstore::StreamAppend> ToStreams(
    const std::vector<Emitted>& emitted,
    const std::function<int64_t(const std::string& stream_id)>& expected,
    const std::string& correlation_id, const std::string& causation_id,
    absl::Time occurred) {
  std::vector<eventstore::StreamAppend> out;
  for (const Emitted& e : emitted) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& s) {
      return s.stream_id == e.stream_id;
    });
    if (it == out.end()) {
      eventstore::StreamAppend sa;
      sa.stream_id = e.stream_id;
      sa.expected_version =
          expected ? expected(e.stream_id) : eventstore::kAnyVersion;
      if (sa.expected_version < 0)
        sa.expected_version = eventstore::kAnyVersion;
      out.push_back(std::move(sa));
      it = out.end() - 1;
    }
    eventstore::NewEvent ne = eventstore::MakeEvent(*e.event);
    ne.occurred_time = occurred;
    ne.correlation_id = correlation_id;
    ne.causation_id = causation_id;
    ne.policy_version = e.policy_version;
    it->events.push_back(std::move(ne));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> Unpack(
    const wangge::common::v1::EventEnvelope& envelope) {
  const auto* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(
          envelope.event_type());
  if (descriptor == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("unknown event type ", envelope.event_type()));
  }
  std::unique_ptr<google::protobuf::Message> event(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(descriptor)
          ->New());
  if (!event->ParseFromString(envelope.payload().value())) {
    return absl::DataLossError(
        absl::StrCat(envelope.event_type(), " does not parse"));
  }
  return event;
}

}  // namespace wangge::domain
