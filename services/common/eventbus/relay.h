#ifndef WANGGE_SERVICES_COMMON_EVENTBUS_RELAY_H_
#define WANGGE_SERVICES_COMMON_EVENTBUS_RELAY_H_

// The outbox relay: publishes each partition of the store, in order, to the
// service's topic (Kafka partition p = store partition p, key = stream id,
// value = the StoredEvent: record bytes with both hashes), with an
// idempotent producer, acks=all and linger.ms=1. The relayed position is
// stored only after Kafka's delivery report, so a restart resumes there and
// may publish a few events twice (consumers ignore them).
//
// A broker outage only delays publishing: messages wait in the producer
// (no message timeout) and the backlog drains when the broker returns. When
// the connection fails the bootstrap file is re-read; after a (re)connect
// the relay compares each partition's high watermark with the offset of its
// last delivered event, and a broker that lost its data (the dev broker
// restarted) gets the whole log again.
//
// Threading: one thread of its own. Lifecycle: Start(), Stop() (flushes).

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/common/eventbus/kafka_config.h"
#include "services/common/eventstore/event_store.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_message_s rd_kafka_message_t;

namespace wangge::eventbus {

struct RelayOptions {
  KafkaEndpoint kafka;
  // Default: TopicOf(store->service()).
  std::string topic;
  // Most messages waiting for delivery reports.
  size_t max_in_flight = 20000;
  // Where to export wangge_relay_backlog_events; null: none.
  prometheus::Registry* metrics = nullptr;
  // The producer's message.max.bytes (librdkafka's default). The store
  // refuses larger events (eventstore::kMaxRecordBytes is below it).
  size_t max_message_bytes = 1000000;
};

class Relay {
 public:
  Relay(eventstore::EventStore* store, RelayOptions options);
  ~Relay();

  // Exports the backlog gauge to `registry`; null stops (call that before
  // the registry goes).
  void SetMetrics(prometheus::Registry* registry);
  absl::Status Start();
  // Flushes what is in flight (up to `timeout`) and stops.
  void Stop(absl::Duration timeout = absl::Seconds(5));

  // Last sequence Kafka confirmed, per partition.
  std::vector<uint64_t> Delivered() const;
  // For `ack_after_kafka`: waits until Kafka confirmed these positions.
  absl::Status WaitDelivered(
      const std::vector<wangge::common::v1::Position>& positions,
      absl::Time deadline) const;

  uint64_t republished_partitions() const { return republished_.load(); }
  uint64_t producer_rebuilds() const { return rebuilds_.load(); }
  // Attempts the producer refused outright (the event is held, retried
  // about once a second, and logged).
  uint64_t refused_events() const { return refused_.load(); }

 private:
  struct PartitionState {
    uint64_t produced = 0;          // last sequence handed to the producer
    uint64_t delivered = 0;         // last sequence Kafka confirmed
    int64_t delivered_offset = -1;  // its Kafka offset
    uint64_t persisted = 0;
  };

  void Loop();
  absl::Status Connect();
  void Disconnect();
  void CheckForLostData();
  bool ProducePending();
  void Persist();
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg,
                         void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason,
                      void* opaque);

  eventstore::EventStore* const store_;
  RelayOptions options_;
  ClientBuild connected_to_;
  rd_kafka_t* producer_ = nullptr;
  std::atomic<bool> running_{false};
  std::atomic<bool> brokers_down_{false};
  std::atomic<bool> fatal_{false};
  bool need_watermark_check_ = false;
  BootstrapWatch bootstrap_watch_;
  std::thread thread_;
  size_t in_flight_ = 0;

  mutable absl::Mutex mu_;
  std::vector<PartitionState> partitions_ ABSL_GUARDED_BY(mu_);

  std::atomic<uint64_t> republished_{0};
  std::atomic<uint64_t> rebuilds_{0};
  // Events the producer refused outright (each attempt), and whether the
  // last round stopped at one.
  std::atomic<uint64_t> refused_{0};
  bool held_ = false;
  // Consecutive fatal errors: the wait before the next rebuild.
  absl::Duration fatal_backoff_ = absl::ZeroDuration();
  absl::Time last_rebuild_ = absl::InfinitePast();
  absl::Time last_refusal_log_ = absl::InfinitePast();
  // Set and used under metrics_mu_: the registry may go before the relay.
  absl::Mutex metrics_mu_;
  prometheus::Gauge* backlog_metric_ ABSL_GUARDED_BY(metrics_mu_) = nullptr;
};

}  // namespace wangge::eventbus

#endif  // WANGGE_SERVICES_COMMON_EVENTBUS_RELAY_H_
