#include "services/common/eventbus/consumer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/log/log.h"
#include "services/common/merkle/merkle.h"

namespace wangge::eventbus {
namespace {

using wangge::common::v1::EventEnvelope;
using wangge::common::v1::StoredEvent;

std::string OffsetKey(const std::string& source, uint32_t p) {
  return absl::StrCat("kafkaoffset/", source, "/", p);
}

}  // namespace

Consumer::Consumer(eventstore::EventStore* store, ConsumerOptions options,
                   Handler handler)
    : store_(store),
      options_(std::move(options)),
      handler_(std::move(handler)) {
  if (options_.topic.empty()) options_.topic = TopicOf(options_.source);
  store_->FollowSource(options_.source);  // its positions may be waited for
  if (options_.group_id.empty()) {
    options_.group_id = absl::StrCat(store_->service(), ".", options_.source);
  }
  if (options_.metrics != nullptr) {
    const std::map<std::string, std::string> labels = {
        {"service", store_->service()}, {"source", options_.source}};
    applied_metric_ = &prometheus::BuildCounter()
                           .Name("wangge_consumer_applied_total")
                           .Help("Events of another service applied")
                           .Register(*options_.metrics)
                           .Add(labels);
    dead_letter_metric_ =
        &prometheus::BuildCounter()
             .Name("wangge_dead_letters_total")
             .Help("Events set aside: bad records, foreign types")
             .Register(*options_.metrics)
             .Add(labels);
    repaired_metric_ = &prometheus::BuildCounter()
                            .Name("wangge_consumer_repaired_total")
                            .Help("Events fetched from the source's ReadLog")
                            .Register(*options_.metrics)
                            .Add(labels);
    lag_metric_ =
        &prometheus::BuildGauge()
             .Name("wangge_consumer_lag_events")
             .Help("Events of the source not applied yet (last check)")
             .Register(*options_.metrics)
             .Add(labels);
  }
}

Consumer::~Consumer() { Stop(); }

bool Consumer::Owned(const std::string& type) const {
  return absl::StartsWith(type,
                          absl::StrCat("wangge.", options_.source, ".v1.")) ||
         absl::StartsWith(type, "wangge.common.v1.");
}

absl::Status Consumer::DeadLetter(const std::string& key,
                                  const std::string& reason,
                                  const eventstore::Consumed* consumed) {
  ++dead_letters_;
  if (dead_letter_metric_) dead_letter_metric_->Increment();
  log::Warning("dead letter",
               {{"source", options_.source}, {"key", key}, {"reason", reason}});
  eventstore::AppendRequest r;
  r.projection_writes.push_back(
      {kDeadLetterProjection, absl::StrCat(options_.source, "/", key), reason});
  if (consumed != nullptr) r.consumed.push_back(*consumed);
  r.defer_fsync = true;  // set aside again if lost
  auto result = store_->Append(std::move(r));
  return result.status();
}

absl::Status Consumer::Ingest(uint32_t partition, const StoredEvent& event) {
  // Dead-letter rows are keyed by the record's own hash, so two different
  // bad records keep two rows.
  const std::string leaf = merkle::LeafHash(store_->hasher(), event.record());
  const std::string record_key = absl::BytesToHexString(leaf.substr(0, 8));
  if (leaf != event.leaf_hash()) {
    return DeadLetter(absl::StrCat(partition, "/leaf-", record_key),
                      "record does not match its leaf hash", nullptr);
  }
  EventEnvelope env;
  if (!env.ParseFromString(event.record())) {
    return DeadLetter(absl::StrCat(partition, "/unparsable-", record_key),
                      "record does not parse", nullptr);
  }
  if (env.partition() != partition || env.source_service() != options_.source) {
    return DeadLetter(
        absl::StrCat(partition, "/", env.sequence()),
        absl::StrCat("record claims ", env.source_service(), "/",
                     env.partition(), " on ", options_.topic, "/", partition),
        nullptr);
  }
  const uint64_t expected =
      store_->ConsumedPosition(options_.source, partition) + 1;
  if (env.sequence() < expected) {
    ++duplicates_;
    return absl::OkStatus();
  }
  if (env.sequence() > expected) {
    absl::Status s = Repair(partition, expected, env.sequence() - 1);
    if (!s.ok()) return s;
  }
  // Each chain hash follows from the one before (H(previous || leaf)).
  // Kafka's ACLs let only the source write its topic; this refuses as well
  // an event at the right position, whose leaf hash fits its record, that
  // does not follow the log this consumer has seen (a corrupted or replayed
  // record, or one from a writer that does not know the chain). A writer
  // that reads the chain can still compute a following hash: only the
  // signed checkpoints, which the audit checks, authenticate a log. Set
  // aside without consuming the position: the genuine event still comes.
  const std::optional<std::string> previous =
      PreviousChain(partition, env.sequence());
  if (previous && store_->hasher().Hash2(*previous, event.leaf_hash()) !=
                      event.chain_hash()) {
    return DeadLetter(
        absl::StrCat(partition, "/", env.sequence(), "/chain-",
                     absl::BytesToHexString(event.chain_hash().substr(0, 8))),
        "chain hash does not follow from the previous event", nullptr);
  }
  absl::Status applied = Apply(env);
  if (applied.ok()) {
    absl::MutexLock lock(&chain_mu_);
    last_chain_[partition] = {env.sequence(), event.chain_hash()};
  }
  return applied;
}

std::optional<std::string> Consumer::PreviousChain(uint32_t partition,
                                                   uint64_t sequence) {
  if (sequence <= 1) return std::string();
  {
    absl::MutexLock lock(&chain_mu_);
    auto it = last_chain_.find(partition);
    if (it != last_chain_.end() && it->second.first == sequence - 1) {
      return it->second.second;
    }
  }
  if (!options_.read_log) return std::nullopt;
  auto before = options_.read_log(partition, sequence - 1, sequence - 1);
  if (!before.ok() || before->size() != 1) return std::nullopt;
  EventEnvelope env;
  if (!env.ParseFromString((*before)[0].record()) ||
      env.sequence() != sequence - 1) {
    return std::nullopt;
  }
  return (*before)[0].chain_hash();
}

absl::Status Consumer::Apply(const EventEnvelope& env) {
  eventstore::Consumed consumed{options_.source, env.partition(),
                                env.sequence()};
  if (!Owned(env.event_type())) {
    return DeadLetter(absl::StrCat(env.partition(), "/", env.sequence()),
                      absl::StrCat(env.event_type(), " may not be written by ",
                                   options_.source),
                      &consumed);
  }
  // A handler reads this service's state and its effects expect stream
  // versions; a command that wrote meanwhile makes the append ABORTED, and
  // the handler decides again on the new state.
  absl::StatusOr<eventstore::AppendResult> result;
  for (int attempt = 0;; ++attempt) {
    eventstore::AppendRequest request;
    if (env.event_type() != eventstore::kCheckpointType) {
      auto effects = handler_(env);
      // Not ready for it yet (a dependency still loading): not consumed,
      // delivered again.
      if (effects.status().code() == absl::StatusCode::kUnavailable) {
        return effects.status();
      }
      if (!effects.ok()) {
        return DeadLetter(
            absl::StrCat(env.partition(), "/", env.sequence()),
            absl::StrCat("handler refused: ", effects.status().ToString()),
            &consumed);
      }
      request = std::move(*effects);
    }
    request.consumed.push_back(consumed);
    // Derived again from the source if a power loss drops it: no fsync per
    // event (one consumer thread would wait for one per event); the store
    // publishes its events once a later fsync covers them.
    request.defer_fsync = true;
    result = store_->Append(std::move(request));
    if (result.ok() || result.status().code() != absl::StatusCode::kAborted ||
        attempt == 8) {
      break;
    }
  }
  if (!result.ok()) {
    const absl::StatusCode code = result.status().code();
    // The store will refuse these effects every time (a bad stream id, an
    // event too large): set the event aside and go on, rather than hold the
    // partition behind it for ever.
    if (code == absl::StatusCode::kInvalidArgument ||
        code == absl::StatusCode::kOutOfRange) {
      return DeadLetter(absl::StrCat(env.partition(), "/", env.sequence()),
                        absl::StrCat("the store refused its effects: ",
                                     result.status().ToString()),
                        &consumed);
    }
    return result.status();
  }
  if (!result->duplicate) {
    ++applied_;
    if (applied_metric_) applied_metric_->Increment();
    if (options_.after_apply &&
        env.event_type() != eventstore::kCheckpointType) {
      options_.after_apply(env);
    }
  }
  return absl::OkStatus();
}

namespace {
// Events asked of a source's ReadLog at once while repairing a gap.
constexpr uint64_t kRepairChunk = 2048;
}  // namespace

absl::Status Consumer::Repair(uint32_t partition, uint64_t from, uint64_t to) {
  if (!options_.read_log) {
    return absl::FailedPreconditionError(
        absl::StrCat("gap in ", options_.source, "/", partition, " at ", from,
                     " and no ReadLog to repair it"));
  }
  if (repair_depth_ > 0) {
    return absl::DataLossError("ReadLog itself has a gap");
  }
  ++repair_depth_;
  absl::Status status;
  uint64_t next = from;
  while (next <= to && status.ok()) {
    // In bounded pieces: a gap can span most of a source's history (a fresh
    // dev broker), and a ReadLog answer is held whole in memory.
    auto events = options_.read_log(partition, next,
                                    std::min(to, next + kRepairChunk - 1));
    if (!events.ok()) {
      status = events.status();
      break;
    }
    if (events->empty()) {
      status = absl::UnavailableError("ReadLog returned nothing");
      break;
    }
    for (const auto& e : *events) {
      status = Ingest(partition, e);
      if (!status.ok()) break;
      ++repaired_;
      if (repaired_metric_) repaired_metric_->Increment();
    }
    // A long repair blocks the loop that measures lag: count it down here.
    if (lag_metric_) {
      lag_metric_->Set(std::max(
          0.0, lag_metric_->Value() - static_cast<double>(events->size())));
    }
    const uint64_t after = store_->ConsumedPosition(options_.source, partition);
    // (A refusal that will pass, UNAVAILABLE, is returned as it is.)
    if (status.ok() && after + 1 <= next) {
      // Nothing of the piece was consumed: its first event was set aside
      // (dead-lettered). Asking again would get the same answer for ever.
      status = absl::DataLossError(absl::StrCat(
          "ReadLog's event ", options_.source, "/", partition, "/", next,
          " was refused (see the dead letters): the source's log and this "
          "consumer disagree"));
      break;
    }
    next = after + 1;
    if (stopping_) {  // a long repair does not hold up a shutdown
      status = absl::CancelledError("stopping");
      break;
    }
  }
  --repair_depth_;
  if (status.ok()) {
    log::Info("repaired a gap from ReadLog",
              {{"source", options_.source},
               {"partition", std::to_string(partition)},
               {"from", std::to_string(from)},
               {"to", std::to_string(to)}});
  }
  return status;
}

absl::StatusOr<std::vector<uint64_t>> Consumer::MeasureLag() {
  auto heads = options_.read_heads();
  if (!heads.ok()) return heads.status();
  double lag = 0;
  for (uint32_t p = 0; p < heads->size(); ++p) {
    const uint64_t consumed = store_->ConsumedPosition(options_.source, p);
    if ((*heads)[p] > consumed)
      lag += static_cast<double>((*heads)[p] - consumed);
  }
  if (lag_metric_) lag_metric_->Set(lag);
  return heads;
}

absl::Status Consumer::CatchUp() {
  if (!options_.read_heads) return absl::OkStatus();
  auto heads = MeasureLag();
  if (!heads.ok()) return heads.status();
  for (uint32_t p = 0; p < heads->size(); ++p) {
    const uint64_t consumed = store_->ConsumedPosition(options_.source, p);
    if ((*heads)[p] > consumed) {
      absl::Status s = Repair(p, consumed + 1, (*heads)[p]);
      if (!s.ok()) return s;
    }
  }
  caught_up_ = true;
  if (lag_metric_) lag_metric_->Set(0);
  return absl::OkStatus();
}

void Consumer::OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* consumer = static_cast<Consumer*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
    consumer->brokers_down_ = true;
  log::Warning("kafka consumer", {{"error", reason}});
}

absl::Status Consumer::Connect() {
  ClientBuild built;
  auto made = MakeClientConf(
      options_.kafka, absl::StrCat("wangge-", options_.group_id),
      {
          {"group.id", options_.group_id},
          {"enable.auto.commit", "false"},
          {"enable.auto.offset.store", "false"},
          {"auto.offset.reset", "earliest"},
          {"fetch.wait.max.ms",
           std::to_string(absl::ToInt64Milliseconds(options_.fetch_wait))},
          // Prefetch at most 8 MiB (librdkafka's default is 64 MiB and
          // 100,000 messages per partition): a consumer behind by a million
          // events held most of that in memory, for each source.
          {"queued.max.messages.kbytes", "8192"},
          {"queued.min.messages", "10000"},
      },
      &built);
  if (!made.ok()) return made.status();
  rd_kafka_conf_t* conf = *made;
  char err[512];
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_error_cb(conf, &Consumer::OnError);
  kafka_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (kafka_ == nullptr) {
    rd_kafka_conf_destroy(conf);  // kept by the client only on success
    return absl::UnavailableError(err);
  }
  rd_kafka_poll_set_consumer(kafka_);
  // Our own positions decide what to apply; Kafka offsets are only where
  // to start reading.
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(options_.partitions);
  for (int p = 0; p < options_.partitions; ++p) {
    auto* tp =
        rd_kafka_topic_partition_list_add(list, options_.topic.c_str(), p);
    tp->offset = RD_KAFKA_OFFSET_BEGINNING;
    auto hint = store_->GetMeta(OffsetKey(options_.source, p));
    if (hint.ok() && *hint) tp->offset = std::stoll(**hint) + 1;
  }
  rd_kafka_resp_err_t e = rd_kafka_assign(kafka_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Disconnect();
    return absl::UnavailableError(rd_kafka_err2str(e));
  }
  connected_to_ = std::move(built);
  brokers_down_ = false;
  return absl::OkStatus();
}

void Consumer::Disconnect() {
  if (kafka_ == nullptr) return;
  rd_kafka_consumer_close(kafka_);
  rd_kafka_destroy(kafka_);
  kafka_ = nullptr;
}

absl::Status Consumer::Start() {
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void Consumer::Stop() {
  stopping_ = true;
  if (!running_.exchange(false)) return;
  thread_.join();
  Disconnect();
}

void Consumer::Loop() {
  absl::Time last_message = absl::Now();
  absl::Time last_check = absl::InfinitePast();
  BootstrapWatch bootstrap_watch;
  std::vector<int64_t> offsets(options_.partitions, -1);
  absl::Time last_offset_store = absl::Now();
  absl::Time last_lag = absl::Now();
  // After a refusal that will pass (the handler not ready: UNAVAILABLE),
  // messages are set aside until then: each one would otherwise ask ReadLog
  // for the whole gap again only to stop at the same event. The newest one
  // of each partition is ingested when the pause ends, repairing the gap
  // before it.
  absl::Time paused_until = absl::InfinitePast();
  std::map<uint32_t, StoredEvent> held;
  const auto warn = [this](const absl::Status& s) {
    log::Warning("cannot apply; will catch up from ReadLog",
                 {{"source", options_.source}, {"error", s.ToString()}});
    caught_up_ = false;
  };
  const auto ingest_or_hold = [&](uint32_t partition, StoredEvent event) {
    absl::Status s = Ingest(partition, event);
    if (s.code() == absl::StatusCode::kUnavailable) {
      paused_until = absl::Now() + absl::Milliseconds(500);
      held[partition] = std::move(event);
    }
    if (!s.ok()) warn(s);
  };
  while (running_) {
    if (!held.empty() && absl::Now() >= paused_until) {
      std::map<uint32_t, StoredEvent> retry;
      retry.swap(held);
      for (auto& [p, event] : retry) ingest_or_hold(p, std::move(event));
    }
    if (kafka_ == nullptr) {
      absl::Status s = Connect();
      if (!s.ok()) {
        log::Warning("kafka unavailable", {{"error", s.ToString()}});
        // ReadLog still works without Kafka.
        if (absl::Now() - last_check > options_.idle_check) {
          CatchUp().IgnoreError();
          last_check = absl::Now();
        }
        absl::SleepFor(absl::Milliseconds(500));
        continue;
      }
    }
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(kafka_, 50);
    if (msg != nullptr) {
      if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        brokers_down_ = false;
        StoredEvent event;
        const bool parsed =
            event.ParseFromArray(msg->payload, static_cast<int>(msg->len));
        if (!parsed) {
          absl::Status s =
              DeadLetter(absl::StrCat(msg->partition, "/offset-", msg->offset),
                         "message is not a StoredEvent", nullptr);
          if (!s.ok()) warn(s);
        } else if (absl::Now() < paused_until) {
          held[static_cast<uint32_t>(msg->partition)] = std::move(event);
          caught_up_ = false;
        } else {
          ingest_or_hold(static_cast<uint32_t>(msg->partition),
                         std::move(event));
        }
        if (msg->partition >= 0 && msg->partition < options_.partitions) {
          offsets[msg->partition] = msg->offset;
        }
        last_message = absl::Now();
      } else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        log::Warning("kafka consume",
                     {{"error", rd_kafka_message_errstr(msg)}});
      }
      rd_kafka_message_destroy(msg);
    }
    if (absl::Now() - last_offset_store > absl::Milliseconds(200)) {
      for (int p = 0; p < options_.partitions; ++p) {
        if (offsets[p] >= 0) {
          store_
              ->PutMeta(OffsetKey(options_.source, p),
                        std::to_string(offsets[p]),
                        /*sync=*/false)
              .IgnoreError();
          offsets[p] = -1;
        }
      }
      last_offset_store = absl::Now();
    }
    if (bootstrap_watch.ShouldReconnect(options_.kafka, brokers_down_,
                                        connected_to_)) {
      log::Info("kafka bootstrap or TLS files changed: reconnecting");
      Disconnect();
      continue;
    }
    // Busy: the lag gauge is only true if measured while busy too (a
    // consumer falling behind under load is what its alert is for).
    if (options_.read_heads && absl::Now() - last_lag > options_.lag_interval) {
      MeasureLag().IgnoreError();
      last_lag = absl::Now();
    }
    // Idle: make sure nothing is left behind (lost or never-sent messages).
    if (absl::Now() - last_message > options_.idle_check &&
        absl::Now() - last_check > options_.idle_check) {
      absl::Status s = CatchUp();
      if (!s.ok()) {
        log::Warning("catch-up failed",
                     {{"source", options_.source}, {"error", s.ToString()}});
      }
      last_check = absl::Now();
    }
  }
}

}  // namespace wangge::eventbus
