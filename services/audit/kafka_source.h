#ifndef WANGGE_SERVICES_AUDIT_KAFKA_SOURCE_H_
#define WANGGE_SERVICES_AUDIT_KAFKA_SOURCE_H_

// The audit tool's third source: a service's Kafka topic read from the
// beginning to its end at the time of reading (complete in production,
// where the audit log's retention is unlimited; a window on the dev
// broker). Messages are the stored events the relay published; a message
// published twice with the same bytes (a producer rebuilt before an
// acknowledgement) is passed on once; any other message is passed on as
// read, for the verifier to judge. Partitions are assigned, not subscribed:
// the "wangge-audit" group id is never joined and nothing is committed, so
// the auditor's Kafka user needs only read rights.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/common/eventbus/kafka_config.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/common/v1/eventlog.pb.h"

namespace wangge::audit {

// Calls `fn` for each event of `service`'s topic; an error when the topic
// cannot be read to its end within `timeout`.
absl::Status ReadTopic(
    const eventbus::KafkaEndpoint& kafka, const std::string& service,
    const std::function<void(uint32_t, const common::v1::StoredEvent&)>& fn,
    absl::Duration timeout = absl::Seconds(60));

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_KAFKA_SOURCE_H_
