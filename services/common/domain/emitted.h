#ifndef WANGGE_SERVICES_COMMON_DOMAIN_EMITTED_H_
#define WANGGE_SERVICES_COMMON_DOMAIN_EMITTED_H_

// What a pure decision returns: events, each for a stream, that the service
// shell appends together (one atomic append) or not at all.

#include <algorithm>
#include <functional>
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

// Groups the events by stream, in order, each stream expecting the version
// given by `expected` (kAnyVersion when it returns a negative number).
// Every event is correlated with `correlation_id` (the case) and caused by
// `causation_id`, and occurs at `occurred`.
std::vector<eventstore::StreamAppend> ToStreams(
    const std::vector<Emitted>& emitted,
    const std::function<int64_t(const std::string& stream_id)>& expected,
    const std::string& correlation_id, const std::string& causation_id,
    absl::Time occurred);

// Parses an envelope's payload into its generated message type (linked into
// this binary); NOT_FOUND for a type it does not know.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> Unpack(
    const wangge::common::v1::EventEnvelope& envelope);

}  // namespace wangge::domain

#endif  // WANGGE_SERVICES_COMMON_DOMAIN_EMITTED_H_
