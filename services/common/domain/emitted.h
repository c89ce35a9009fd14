#ifndef WANGGE_SERVICES_COMMON_DOMAIN_EMITTED_H_
#define WANGGE_SERVICES_COMMON_DOMAIN_EMITTED_H_

// What a pure decision returns: events, each for a stream, that the service
// shell appends together (one atomic append) or not at all.

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "services/common/eventstore/event_store.h"

namespace wangge::domain {

struct Emitted {
  std::string stream_id;
  std::shared_ptr<const google::protobuf::Message> event;
  // The registry policy the decision applied (recorded on the envelope).
  std::string policy_version;
};

template <typename T>
Emitted Emit(std::string stream_id, T event, std::string policy_version = "") {
  return Emitted{std::move(stream_id), std::make_shared<T>(std::move(event)),
                 std::move(policy_version)};
}

// One stream's share of a decision, its events in order.
struct StreamEvents {
  std::string stream_id;
  std::vector<Emitted> events;
};
// The events grouped by stream, streams in first-touched order.
std::vector<StreamEvents> GroupByStream(const std::vector<Emitted>& emitted);

// A stream's append expecting version `expected` (kAnyVersion when
// negative); every event is correlated with `correlation_id` (the case),
// caused by `causation_id`, and occurs at `occurred`.
eventstore::StreamAppend ToStream(const StreamEvents& group, int64_t expected,
                                  const std::string& correlation_id,
                                  const std::string& causation_id,
                                  absl::Time occurred);

// Parses an envelope's payload into its generated message type (linked into
// this binary); NOT_FOUND for a type it does not know.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> Unpack(
    const wangge::common::v1::EventEnvelope& envelope);

}  // namespace wangge::domain

#endif  // WANGGE_SERVICES_COMMON_DOMAIN_EMITTED_H_
