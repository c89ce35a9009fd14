// The event bus against the dev broker (librdkafka's mock cluster, the real
// Kafka protocol on loopback), with a real EventLog gRPC service as the
// source's ReadLog, and kcat as an outside client.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <cstdio>
#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "services/common/eventbus/consumer.h"
#include "services/common/eventbus/readlog_client.h"
#include "services/common/eventbus/relay.h"
#include "services/common/eventlog/eventlog_service.h"
#include "services/common/merkle/merkle.h"
#include "services/common/testing/test_support.h"
#include "services/devbroker/dev_broker.h"

namespace wangge::eventbus {
namespace {

using wangge::common::v1::EventEnvelope;

constexpr char kTopic[] = "wangge.intake.events";

bool WaitUntil(const std::function<bool()>& done,
               absl::Duration timeout = absl::Seconds(60)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

class EventBusTest : public ::testing::Test {
 protected:
  void StartWorld(int partitions) {
    partitions_ = partitions;
    dir_ = testing::MakeTempDir("bus");
    broker_ = *devbroker::DevBroker::Start({kTopic}, partitions);
    eventstore::Options o;
    o.service = "intake";
    o.path = dir_ + "/intake";
    o.partitions = partitions;
    o.durability = eventstore::Durability::kAsync;  // speed; the bus is tested
    source_ = *eventstore::EventStore::Open(o);
    chassis_ = std::make_unique<server::Chassis>(
        testing::LoopbackConfig("intake", dir_), Clock::Real());
    eventlog_ = std::make_unique<eventlog::EventLogService>(
        chassis_.get(), source_.get(), std::vector<std::string>{});
    ASSERT_TRUE(chassis_->Init().ok());
    ASSERT_TRUE(chassis_->Register<common::v1::EventLog>(eventlog_.get()).ok());
    ASSERT_TRUE(chassis_->Start().ok());
    StartRelay();
  }

  std::string BootstrapFile() {
    const std::string file = dir_ + "/kafka.bootstrap";
    testing::WriteFile(file, broker_->bootstrap() + "\n");
    return file;
  }

  void StartRelay() {
    RelayOptions ro;
    ro.kafka.bootstrap_file = BootstrapFile();
    ro.metrics = &relay_metrics_;
    ro.max_message_bytes = relay_max_message_bytes_;
    relay_ = std::make_unique<Relay>(source_.get(), ro);
    ASSERT_TRUE(relay_->Start().ok());
  }

  // A consumer service ("supervision") with its own store; the handler
  // records each source event as a projection row.
  void StartConsumer(const std::string& name, bool with_heads = false) {
    eventstore::Options o;
    o.service = "supervision";
    o.path = dir_ + "/" + name;
    o.partitions = partitions_;
    o.durability = eventstore::Durability::kAsync;
    sink_ = *eventstore::EventStore::Open(o);
    auto channel = grpc::CreateChannel(chassis_->address(),
                                       grpc::InsecureChannelCredentials());
    const std::string token =
        testing::DevToken(common::v1::ROLE_SERVICE_SUPERVISION);
    ConsumerOptions co;
    co.source = "intake";
    co.kafka.bootstrap_file = BootstrapFile();
    co.partitions = partitions_;
    // The widest range asked of ReadLog at once.
    co.read_log = [this, read = MakeReadLogFn(channel, token)](
                      uint32_t p, uint64_t from, uint64_t to) {
      uint64_t seen = widest_read_.load();
      while (to - from + 1 > seen &&
             !widest_read_.compare_exchange_weak(seen, to - from + 1)) {
      }
      auto events = read(p, from, to);
      if (events.ok()) events_read_ += events->size();
      return events;
    };
    if (with_heads) co.read_heads = MakeReadHeadsFn(channel, token);
    co.idle_check = with_heads ? absl::Seconds(1) : absl::Hours(1);
    if (never_idle_) co.idle_check = absl::Hours(1);
    co.lag_interval = absl::Milliseconds(100);
    co.metrics = &metrics_;
    consumer_ = std::make_unique<Consumer>(
        sink_.get(), co,
        [this, delay = handler_delay_](const EventEnvelope& env)
            -> absl::StatusOr<eventstore::AppendRequest> {
          absl::SleepFor(delay);
          if (absl::Now() < absl::FromUnixNanos(unavailable_until_ns_.load())) {
            return absl::UnavailableError("not ready yet");
          }
          eventstore::AppendRequest r;
          r.projection_writes.push_back(
              {"seen", absl::StrCat(env.stream_id(), "#", env.stream_version()),
               env.event_id()});
          common::v1::Position payload;
          payload.ParseFromString(env.payload().value());
          if (payload.service() == "refused by the store") {
            // Effects the store refuses every time: a control character in
            // a stream id.
            eventstore::StreamAppend bad;
            bad.stream_id = "bad\x01stream";
            bad.events.push_back(eventstore::MakeEvent(payload));
            r.streams.push_back(std::move(bad));
          }
          return r;
        });
    ASSERT_TRUE(consumer_->Start().ok());
  }

  void TearDown() override {
    if (consumer_) consumer_->Stop();
    if (relay_) relay_->Stop();
    if (chassis_) chassis_->Shutdown();
  }

  // Appends `n` events over many streams; returns them per partition.
  void Append(int n, const std::string& payload = "x") {
    for (int i = 0; i < n; ++i) {
      eventstore::AppendRequest r;
      eventstore::StreamAppend sa;
      sa.stream_id = absl::StrCat("case/", next_++ % 97);
      common::v1::Position p;
      p.set_service(payload);
      sa.events.push_back(eventstore::MakeEvent(p));
      sa.events.back().type = "wangge.intake.v1.ReportReceived";
      r.streams.push_back(std::move(sa));
      ASSERT_TRUE(source_->Append(r).ok());
    }
    written_ += n;
  }

  uint64_t Rows() { return sink_->ProjectionDigest("seen")->second; }

  // Bytes straight onto the topic's partition, as any Kafka client could.
  void PublishRaw(int32_t partition, const std::string& bytes) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[256];
    rd_kafka_conf_set(conf, "bootstrap.servers", broker_->bootstrap().c_str(),
                      err, sizeof(err));
    rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    ASSERT_EQ(
        rd_kafka_producev(
            raw, RD_KAFKA_V_TOPIC(kTopic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_VALUE(const_cast<char*>(bytes.data()), bytes.size()),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
        RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_flush(raw, 5000);
    rd_kafka_destroy(raw);
  }

  bool AllConsumed() {
    auto heads = source_->Heads();
    for (int p = 0; p < partitions_; ++p) {
      if (sink_->ConsumedPosition("intake", p) != heads[p]) return false;
    }
    return true;
  }

  // The value of a metric in a registry (summed over its series).
  static double Metric(prometheus::Registry& registry,
                       const std::string& name) {
    double total = 0;
    for (const auto& family : registry.Collect()) {
      if (family.name != name) continue;
      for (const auto& m : family.metric)
        total += m.counter.value + m.gauge.value;
    }
    return total;
  }

  prometheus::Registry metrics_;
  prometheus::Registry relay_metrics_;
  int partitions_ = 4;
  int next_ = 0;
  uint64_t written_ = 0;
  std::string dir_;
  std::unique_ptr<devbroker::DevBroker> broker_;
  std::unique_ptr<eventstore::EventStore> source_, sink_;
  std::unique_ptr<server::Chassis> chassis_;
  std::unique_ptr<eventlog::EventLogService> eventlog_;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<Consumer> consumer_;
  std::atomic<uint64_t> widest_read_{0};
  std::atomic<uint64_t> events_read_{0};  // through ReadLog, in all
  // The handler answers UNAVAILABLE until then (a dependency loading).
  std::atomic<int64_t> unavailable_until_ns_{0};
  absl::Duration handler_delay_;  // per event, in the consumer's handler
  bool never_idle_ = false;       // no idle catch-up from ReadLog
  size_t relay_max_message_bytes_ = 1000000;
};

TEST_F(EventBusTest, EveryEventArrivesOnceInOrderAndKcatCountsThem) {
  StartWorld(4);
  StartConsumer("sink");
  Append(1000);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  EXPECT_EQ(Rows(), 1000u);  // one row per (stream, version)
  EXPECT_EQ(consumer_->applied(), 1000u);
  EXPECT_EQ(consumer_->repaired(), 0u);
  EXPECT_EQ(consumer_->dead_letters(), 0u);
  // Every event delivered to Kafka, and an outside client sees them all:
  // one message per stored event, each partition's offsets in sequence.
  ASSERT_TRUE(
      WaitUntil([&] { return relay_->Delivered() == source_->Heads(); }));
  const std::string cmd =
      absl::StrCat("kcat -b ", broker_->bootstrap(), " -C -t ", kTopic,
                   " -e -q -f '%p %o\\n' 2>/dev/null");
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::map<int, int64_t> last_offset;
  int count = 0;
  int p;
  long long offset;
  while (fscanf(pipe, "%d %lld", &p, &offset) == 2) {
    ++count;
    auto it = last_offset.find(p);
    if (it != last_offset.end()) {
      EXPECT_EQ(offset, it->second + 1);
    }
    last_offset[p] = offset;
  }
  EXPECT_EQ(pclose(pipe), 0);
  EXPECT_EQ(count, 1000);
}

TEST_F(EventBusTest, BrokerDownThenUpLosesNothing) {
  StartWorld(4);
  StartConsumer("sink");
  Append(100);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  broker_->SetDown();
  Append(300);  // the store keeps accepting while Kafka is away
  absl::SleepFor(absl::Milliseconds(500));
  uint64_t delivered = 0;
  for (uint64_t d : relay_->Delivered()) delivered += d;
  EXPECT_EQ(delivered, 100u);
  EXPECT_EQ(Metric(relay_metrics_, "wangge_relay_backlog_events"), 300);
  broker_->SetUp();
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  EXPECT_EQ(consumer_->applied(), 400u);
}

TEST_F(EventBusTest, RelayRestartRepublishesAndConsumersIgnoreDuplicates) {
  StartWorld(4);
  StartConsumer("sink");
  Append(200);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  relay_->Stop();
  // As if the relay had died before storing any position.
  for (int p = 0; p < 4; ++p) {
    ASSERT_TRUE(
        source_->PutMeta(absl::StrCat("relay/", p), std::string(16, '\0'))
            .ok());
  }
  StartRelay();
  Append(50);
  ASSERT_TRUE(WaitUntil([&] { return consumer_->duplicates() >= 200; }));
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  EXPECT_EQ(consumer_->applied(), 250u);
}

TEST_F(EventBusTest, ConsumerBehindTheLowWatermarkRepairsFromReadLog) {
  StartWorld(1);
  // ~8 MiB into one partition: more than the mock broker keeps.
  Append(2000, std::string(4096, 'p'));
  ASSERT_TRUE(
      WaitUntil([&] { return relay_->Delivered()[0] == source_->Head(0); }));
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  rd_kafka_conf_set(conf, "bootstrap.servers", broker_->bootstrap().c_str(),
                    err, sizeof(err));
  rd_kafka_t* probe = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  int64_t low = 0, high = 0;
  ASSERT_EQ(
      rd_kafka_query_watermark_offsets(probe, kTopic, 0, &low, &high, 5000),
      RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(probe);
  ASSERT_GT(low, 0) << "the broker kept everything; the test needs a gap";
  StartConsumer("late");
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  EXPECT_EQ(consumer_->applied(), 2000u);
  EXPECT_GE(consumer_->repaired(), static_cast<uint64_t>(low));
}

TEST_F(EventBusTest, PoisonAndForeignEventsGoToDeadLetterAndConsumptionGoesOn) {
  StartWorld(1);
  StartConsumer("sink");
  Append(10);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  // Garbage straight onto the topic, twice (two rows: each keeps its own).
  PublishRaw(0, "\xff\xfe not an event");
  PublishRaw(0, "\xff\xfd not an event either");
  // An event intake may not write, in intake's own log.
  eventstore::AppendRequest foreign;
  eventstore::StreamAppend sa;
  sa.stream_id = "task/C1/1";
  common::v1::Position p;
  sa.events.push_back(eventstore::MakeEvent(p));
  sa.events.back().type = "wangge.dispatch.v1.TaskDispatched";
  foreign.streams.push_back(sa);
  ASSERT_TRUE(source_->Append(foreign).ok());
  // An event whose effects the store refuses whatever happens.
  Append(1, "refused by the store");
  Append(10);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  EXPECT_EQ(consumer_->dead_letters(), 4u);
  EXPECT_EQ(consumer_->applied(), 20u);
  EXPECT_EQ(Metric(metrics_, "wangge_dead_letters_total"), 4);
  EXPECT_EQ(Metric(metrics_, "wangge_consumer_applied_total"), 20);
  EXPECT_EQ(sink_->ProjectionDigest(kDeadLetterProjection)->second, 4u);
}

// ack_after_kafka waits on this: an append's positions are confirmed once
// Kafka has them; with the broker down the wait ends UNAVAILABLE at its
// deadline, and succeeds once the broker is back.
TEST_F(EventBusTest, WaitDeliveredFollowsKafkasConfirmations) {
  StartWorld(1);
  auto append = [&] {
    eventstore::AppendRequest r;
    eventstore::StreamAppend sa;
    sa.stream_id = absl::StrCat("case/w", next_++);
    common::v1::Position p;
    sa.events.push_back(eventstore::MakeEvent(p));
    sa.events.back().type = "wangge.intake.v1.ReportReceived";
    r.streams.push_back(std::move(sa));
    return source_->Append(std::move(r));
  };
  auto first = append();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(
      relay_->WaitDelivered(first->positions, absl::Now() + absl::Seconds(30))
          .ok());
  broker_->SetDown();
  auto during = append();
  ASSERT_TRUE(during.ok());  // the store takes it: the outbox
  EXPECT_EQ(relay_
                ->WaitDelivered(during->positions,
                                absl::Now() + absl::Milliseconds(500))
                .code(),
            absl::StatusCode::kUnavailable);
  broker_->SetUp();
  EXPECT_TRUE(
      relay_->WaitDelivered(during->positions, absl::Now() + absl::Seconds(60))
          .ok());
}

// A handler that is not ready yet (UNAVAILABLE) while events stream in:
// nothing is lost, and the consumer does not ask ReadLog for the whole gap
// again at every message meanwhile.
TEST_F(EventBusTest, AHandlerNotReadyYetCostsNoRepairStorm) {
  StartWorld(1);
  never_idle_ = true;  // only Kafka and gap repairs
  unavailable_until_ns_ = absl::ToUnixNanos(absl::Now() + absl::Seconds(2));
  StartConsumer("sink");
  Append(3000);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  EXPECT_EQ(consumer_->applied(), 3000u);
  EXPECT_LT(events_read_.load(), 3u * 3000u) << events_read_.load();
}

// The producer refuses an event outright (here: larger than this producer's
// message.max.bytes): its partition is held there, never marked delivered
// past it, and the relay retries about once a second instead of spinning.
TEST_F(EventBusTest,
       AnEventTheProducerRefusesHoldsItsPartitionWithoutSpinning) {
  relay_max_message_bytes_ = 4096;
  StartWorld(1);
  Append(5);
  ASSERT_TRUE(WaitUntil([&] { return relay_->Delivered()[0] == 5; }));
  Append(1, std::string(8000, 'x'));
  Append(5);
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(relay_->Delivered()[0], 5u);
  EXPECT_GE(relay_->refused_events(), 1u);
  EXPECT_LE(relay_->refused_events(), 6u);
}

// A produce request fails permanently in the middle of a stream of batches:
// the failure is logged, the relay produces again from the last delivered
// event, everything arrives and no event is written after a hole. (librdkafka
// with this mock broker keeps the order even without the relay's guards:
// the mock refuses the batches in flight behind the failed one. The guards,
// `enable.gapless.guarantee` and delivered positions that only advance one
// by one, are for brokers and errors that do not.)
TEST_F(EventBusTest, APermanentProduceErrorNeverReordersThePartition) {
  StartWorld(1);
  Append(200);
  ASSERT_TRUE(WaitUntil([&] { return relay_->Delivered()[0] == 200; }));
  constexpr int16_t kProduceApi = 0;  // RD_KAFKAP_Produce (internal header)
  // The third produce request from here fails, with others in flight.
  rd_kafka_mock_push_request_errors(
      broker_->mock_cluster(), kProduceApi, 3, RD_KAFKA_RESP_ERR_NO_ERROR,
      RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_RESP_ERR_INVALID_RECORD);
  Append(3000);
  ASSERT_TRUE(WaitUntil([&] { return relay_->Delivered()[0] == 3200; }));
  // Read the partition from the start with a plain consumer.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  rd_kafka_conf_set(conf, "bootstrap.servers", broker_->bootstrap().c_str(),
                    err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "order-check", err, sizeof(err));
  rd_kafka_t* reader = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  ASSERT_NE(reader, nullptr) << err;
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, kTopic, 0)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  ASSERT_EQ(rd_kafka_assign(reader, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(parts);
  uint64_t highest = 0, messages = 0, holes = 0;
  std::set<uint64_t> seen;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (seen.size() < 3200 && absl::Now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(reader, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      common::v1::StoredEvent stored;
      EventEnvelope env;
      if (stored.ParseFromArray(m->payload, static_cast<int>(m->len)) &&
          env.ParseFromString(stored.record())) {
        ++messages;
        // A repeat of the last few (a resend after the failure) is fine;
        // an event after a hole is not.
        if (env.sequence() > highest + 1) ++holes;
        highest = std::max<uint64_t>(highest, env.sequence());
        seen.insert(env.sequence());
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(reader);
  rd_kafka_destroy(reader);
  EXPECT_EQ(seen.size(), 3200u);
  EXPECT_EQ(holes, 0u) << messages << " messages read";
}

// An event at the next position, whose leaf hash fits its record but whose
// chain hash does not follow from the event before (not the source's): set
// aside without consuming the position; the genuine one is applied.
TEST_F(EventBusTest, AnEventOffTheChainIsRefusedAndTheGenuineOneApplied) {
  StartWorld(1);
  StartConsumer("sink");
  Append(10);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  common::v1::EventEnvelope env;
  env.set_event_id("forged");
  env.set_event_type("wangge.intake.v1.ReportReceived");
  env.set_source_service("intake");
  env.set_stream_id("case/forged");
  env.set_stream_version(1);
  env.set_partition(0);
  env.set_sequence(11);
  common::v1::StoredEvent forged;
  forged.set_record(env.SerializeAsString());
  forged.set_leaf_hash(merkle::LeafHash(source_->hasher(), forged.record()));
  forged.set_chain_hash(
      source_->hasher().Hash2("elsewhere", forged.leaf_hash()));
  PublishRaw(0, forged.SerializeAsString());  // before the genuine 11
  ASSERT_TRUE(WaitUntil([&] { return consumer_->dead_letters() == 1; }));
  EXPECT_EQ(sink_->ConsumedPosition("intake", 0), 10u);
  Append(5);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  EXPECT_EQ(consumer_->applied(), 15u);
  EXPECT_EQ(Rows(), 15u);
  EXPECT_FALSE(sink_->GetProjection("seen", "case/forged#1")->has_value());
}

// A repair whose piece ends in an event the consumer refuses (off the
// chain: the source rewrote its tail, or a record is corrupt) ends with an
// error instead of asking ReadLog for it for ever.
TEST(ConsumerRepairTest, ARefusedEventEndsTheRepairWithAnError) {
  const std::string dir = testing::MakeTempDir("repair");
  eventstore::Options o;
  o.service = "intake";
  o.path = dir + "/source";
  o.partitions = 1;
  o.durability = eventstore::Durability::kAsync;
  auto source = *eventstore::EventStore::Open(o);
  for (int i = 0; i < 3; ++i) {
    eventstore::AppendRequest r;
    eventstore::StreamAppend sa;
    sa.stream_id = absl::StrCat("case/", i);
    common::v1::Position p;
    sa.events.push_back(eventstore::MakeEvent(p));
    sa.events.back().type = "wangge.intake.v1.ReportReceived";
    r.streams.push_back(std::move(sa));
    ASSERT_TRUE(source->Append(r).ok());
  }
  std::vector<common::v1::StoredEvent> log = *source->ReadPartition(0, 1, 10);
  ASSERT_EQ(log.size(), 3u);
  log[1].set_chain_hash(std::string(32, 'x'));  // not what follows event 1
  o.service = "supervision";
  o.path = dir + "/sink";
  auto sink = *eventstore::EventStore::Open(o);
  ConsumerOptions co;
  co.source = "intake";
  co.partitions = 1;
  std::atomic<int> reads{0};
  co.read_log =
      [&](uint32_t, uint64_t from,
          uint64_t to) -> absl::StatusOr<std::vector<common::v1::StoredEvent>> {
    ++reads;
    return std::vector<common::v1::StoredEvent>(log.begin() + (from - 1),
                                                log.begin() + to);
  };
  Consumer consumer(sink.get(), co, [](const EventEnvelope&) {
    return absl::StatusOr<eventstore::AppendRequest>(
        eventstore::AppendRequest());
  });
  // Event 3 arrives first: 1 and 2 are a gap, repaired through ReadLog.
  absl::Status s = consumer.Ingest(0, log[2]);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_EQ(sink->ConsumedPosition("intake", 0), 1u);
  EXPECT_LE(reads, 3);
  EXPECT_GE(consumer.dead_letters(), 1u);
}

// The dev broker restarts empty on a new port: both sides re-read the
// bootstrap file, the relay sees the lost data and republishes the log, and
// the consumer ignores what it already applied.
TEST_F(EventBusTest, RestartedBrokerGetsTheLogAgain) {
  StartWorld(2);
  StartConsumer("sink");
  Append(100);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  ASSERT_TRUE(
      WaitUntil([&] { return relay_->Delivered() == source_->Heads(); }));
  broker_.reset();
  broker_ = *devbroker::DevBroker::Start({kTopic}, 2);
  BootstrapFile();
  Append(40);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  EXPECT_EQ(consumer_->applied(), 140u);
  ASSERT_TRUE(
      WaitUntil([&] { return relay_->Delivered() == source_->Heads(); }));
  EXPECT_EQ(relay_->republished_partitions(), 2u);
  EXPECT_GE(relay_->producer_rebuilds(), 1u);
  // The new broker holds the whole log again.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  rd_kafka_conf_set(conf, "bootstrap.servers", broker_->bootstrap().c_str(),
                    err, sizeof(err));
  rd_kafka_t* probe = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  int64_t total = 0;
  for (int p = 0; p < 2; ++p) {
    int64_t low = 0, high = 0;
    ASSERT_EQ(
        rd_kafka_query_watermark_offsets(probe, kTopic, p, &low, &high, 5000),
        RD_KAFKA_RESP_ERR_NO_ERROR);
    total += high - low;
  }
  rd_kafka_destroy(probe);
  EXPECT_EQ(total, 140);
}

// The lag gauge is what the consumer-lag alert reads: it must rise while a
// busy consumer falls behind on Kafka, not only when an idle catch-up runs
// (none runs here), and return to zero once it has caught up.
TEST_F(EventBusTest, LagIsMeasuredWhileTheConsumerIsBusy) {
  StartWorld(1);
  Append(1500);
  ASSERT_TRUE(
      WaitUntil([&] { return relay_->Delivered()[0] == source_->Head(0); }));
  handler_delay_ = absl::Milliseconds(2);
  never_idle_ = true;
  StartConsumer("busy", /*with_heads=*/true);
  double most = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!AllConsumed() && absl::Now() < deadline) {
    most = std::max(most, Metric(metrics_, "wangge_consumer_lag_events"));
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(AllConsumed());
  EXPECT_EQ(consumer_->repaired(), 0u);  // all of it came through Kafka
  EXPECT_GT(most, 100);
  EXPECT_TRUE(WaitUntil(
      [&] { return Metric(metrics_, "wangge_consumer_lag_events") == 0; }));
}

TEST_F(EventBusTest, IdleConsumerCatchesUpFromHeadsWithoutKafka) {
  StartWorld(2);
  relay_->Stop();  // nothing reaches Kafka
  relay_.reset();
  Append(6000);
  StartConsumer("sink", /*with_heads=*/true);
  ASSERT_TRUE(WaitUntil([&] { return AllConsumed(); }));
  EXPECT_EQ(consumer_->repaired(), 6000u);
  EXPECT_EQ(consumer_->applied(), 6000u);
  // ~3,000 missing per partition, asked for in bounded pieces: a ReadLog
  // answer is held whole in memory.
  EXPECT_GT(widest_read_.load(), 0u);
  EXPECT_LE(widest_read_.load(), 2048u);
  EXPECT_TRUE(consumer_->caught_up());
  EXPECT_EQ(Metric(metrics_, "wangge_consumer_repaired_total"), 6000);
  EXPECT_EQ(Metric(metrics_, "wangge_consumer_lag_events"), 0);
}

}  // namespace
}  // namespace wangge::eventbus
