#include "services/common/domain/emitted.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"

namespace wangge::domain {

std::vector<StreamEvents> GroupByStream(const std::vector<Emitted>& emitted) {
  std::vector<StreamEvents> out;
  for (const Emitted& e : emitted) {
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& g) {
      return g.stream_id == e.stream_id;
    });
    if (it == out.end()) {
      out.push_back({e.stream_id, {}});
      it = out.end() - 1;
    }
    it->events.push_back(e);
  }
  return out;
}

eventstore::StreamAppend ToStream(const StreamEvents& group, int64_t expected,
                                  const std::string& correlation_id,
                                  const std::string& causation_id,
                                  absl::Time occurred) {
  eventstore::StreamAppend sa;
  sa.stream_id = group.stream_id;
  sa.expected_version = expected < 0 ? eventstore::kAnyVersion : expected;
  for (const Emitted& e : group.events) {
    eventstore::NewEvent ne = eventstore::MakeEvent(*e.event);
    ne.occurred_time = occurred;
    ne.correlation_id = correlation_id;
    ne.causation_id = causation_id;
    ne.policy_version = e.policy_version;
    sa.events.push_back(std::move(ne));
  }
  return sa;
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
