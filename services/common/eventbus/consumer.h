#ifndef WANGGE_SERVICES_COMMON_EVENTBUS_CONSUMER_H_
#define WANGGE_SERVICES_COMMON_EVENTBUS_CONSUMER_H_

// Follows another service's topic and applies each of its events to this
// service's store, exactly once and in order per partition:
//
// - every event carries its source (partition, sequence); the consumer
//   applies sequence n only after n - 1, in the same RocksDB write batch as
//   the consumed position (EventStore's `consumed`), so a crash never
//   applies an event twice or skips one (the write is not fsync'd on its
//   own: a power loss can only take back a suffix, effects and positions
//   together, which is applied again);
// - a smaller sequence is a duplicate (relay restart, republish) and is
//   ignored; a larger one is a gap (the dev broker keeps only a window),
//   repaired from the source's ReadLog before going on;
// - a record whose leaf hash does not match, or that does not parse, is
//   dead-lettered and not consumed (its true copy comes from ReadLog); an
//   event whose type the topic's owner may not write is dead-lettered and
//   consumed, so consumption continues. Each dead letter is a row of the
//   "deadletter" projection, a log line and a counter;
// - when idle it compares with the source's heads and catches up.
//
// Threading: one thread of its own. Lifecycle: Start(), Stop().

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"
#include "services/common/eventbus/kafka_config.h"
#include "services/common/eventstore/event_store.h"

typedef struct rd_kafka_s rd_kafka_t;

namespace wangge::eventbus {

// Reads [from, to] of a source partition (its ReadLog).
using ReadLogFn =
    std::function<absl::StatusOr<std::vector<wangge::common::v1::StoredEvent>>(
        uint32_t partition, uint64_t from, uint64_t to)>;
// The source's partition heads.
using ReadHeadsFn = std::function<absl::StatusOr<std::vector<uint64_t>>()>;

// This service's effects of one source event (events to append, projection
// rows); the consumer adds the consumed position. An error dead-letters the
// event (and consumes it), since retrying cannot change a pure decision;
// except UNAVAILABLE (a dependency not ready yet), which leaves the event
// unconsumed, to be applied again later. An ABORTED append (a command wrote
// the same stream meanwhile) runs the handler again.
using Handler = std::function<absl::StatusOr<eventstore::AppendRequest>(
    const wangge::common::v1::EventEnvelope&)>;

inline constexpr char kDeadLetterProjection[] = "deadletter";

struct ConsumerOptions {
  std::string source;  // the source service
  KafkaEndpoint kafka;
  std::string topic;     // default TopicOf(source)
  std::string group_id;  // default "<service>.<source>"
  int partitions = 8;    // the source's partition count
  ReadLogFn read_log;
  ReadHeadsFn read_heads;  // optional: catch-up when idle
  absl::Duration idle_check = absl::Seconds(1);
  // fetch.wait.max.ms: how long a fetch may wait for data. Apache Kafka
  // answers as soon as data arrives; the dev broker (librdkafka 2.0.2's
  // mock) holds an empty fetch for the whole wait, so a hop costs half of
  // it on average there.
  absl::Duration fetch_wait = absl::Milliseconds(5);
  // How often the lag gauge is measured against the source's heads while
  // busy (when idle, every catch-up measures it).
  absl::Duration lag_interval = absl::Seconds(10);
  // Called after an event's effects are written (not for duplicates or dead
  // letters): in-memory state follows the store, never runs ahead of it.
  std::function<void(const wangge::common::v1::EventEnvelope&)> after_apply;
  // Where to export wangge_consumer_* and wangge_dead_letters_total
  // (labels service, source); null: none.
  prometheus::Registry* metrics = nullptr;
};

class Consumer {
 public:
  Consumer(eventstore::EventStore* store, ConsumerOptions options,
           Handler handler);
  ~Consumer();

  absl::Status Start();
  void Stop();

  // Applies one stored event as if it came from Kafka partition `p`
  // (Kafka messages and ReadLog repairs both go through here).
  absl::Status Ingest(uint32_t partition,
                      const wangge::common::v1::StoredEvent& event);
  // Catches every partition up to the source's heads (needs read_heads).
  absl::Status CatchUp();

  uint64_t applied() const { return applied_.load(); }
  uint64_t duplicates() const { return duplicates_.load(); }
  uint64_t repaired() const { return repaired_.load(); }
  uint64_t dead_letters() const { return dead_letters_.load(); }
  bool caught_up() const { return caught_up_.load(); }

 private:
  absl::Status Repair(uint32_t partition, uint64_t from, uint64_t to);
  // The source's heads (read_heads), with the lag gauge set from them.
  absl::StatusOr<std::vector<uint64_t>> MeasureLag();
  absl::Status Apply(const wangge::common::v1::EventEnvelope& env);
  absl::Status DeadLetter(const std::string& key, const std::string& reason,
                          const eventstore::Consumed* consumed);
  bool Owned(const std::string& type) const;
  // The chain hash of the source's event before `sequence` in `partition`
  // ("" before the first): remembered from the last one applied, or read
  // through ReadLog once after a start; none if it cannot be had.
  std::optional<std::string> PreviousChain(uint32_t partition,
                                           uint64_t sequence);
  absl::Status Connect();
  void Disconnect();
  void Loop();
  static void OnError(rd_kafka_t* rk, int err, const char* reason,
                      void* opaque);

  eventstore::EventStore* const store_;
  ConsumerOptions options_;
  Handler handler_;
  rd_kafka_t* kafka_ = nullptr;
  ClientBuild connected_to_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> brokers_down_{false};
  std::thread thread_;
  std::atomic<uint64_t> applied_{0}, duplicates_{0}, repaired_{0},
      dead_letters_{0};
  std::atomic<bool> caught_up_{false};
  int repair_depth_ = 0;
  // Per partition: the last applied (sequence, chain hash).
  absl::Mutex chain_mu_;
  std::map<uint32_t, std::pair<uint64_t, std::string>> last_chain_
      ABSL_GUARDED_BY(chain_mu_);
  prometheus::Counter* applied_metric_ = nullptr;
  prometheus::Counter* dead_letter_metric_ = nullptr;
  prometheus::Counter* repaired_metric_ = nullptr;
  prometheus::Gauge* lag_metric_ = nullptr;
};

}  // namespace wangge::eventbus

#endif  // WANGGE_SERVICES_COMMON_EVENTBUS_CONSUMER_H_
