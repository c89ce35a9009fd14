#include "services/common/eventbus/relay.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/eventstore/key_codec.h"
#include "services/common/log/log.h"

namespace wangge::eventbus {
namespace {

constexpr char kRelayPrefix[] = "relay/";
constexpr size_t kBatch = 512;

std::string RelayKey(uint32_t p) { return absl::StrCat(kRelayPrefix, p); }

std::string Encode(uint64_t seq, int64_t offset) {
  std::string s;
  eventstore::PutU64(&s, seq);
  eventstore::PutU64(&s, static_cast<uint64_t>(offset));
  return s;
}

void Decode(const std::string& s, uint64_t* seq, int64_t* offset) {
  *seq = eventstore::GetU64(s.data());
  *offset = static_cast<int64_t>(eventstore::GetU64(s.data() + 8));
}

}  // namespace

Relay::Relay(eventstore::EventStore* store, RelayOptions options)
    : store_(store), options_(std::move(options)) {
  if (options_.topic.empty()) options_.topic = TopicOf(store_->service());
  if (options_.metrics != nullptr) SetMetrics(options_.metrics);
}

void Relay::SetMetrics(prometheus::Registry* registry) {
  absl::MutexLock lock(&metrics_mu_);
  if (registry == nullptr) {
    backlog_metric_ = nullptr;
    return;
  }
  backlog_metric_ = &prometheus::BuildGauge()
                         .Name("wangge_relay_backlog_events")
                         .Help("Events stored but not yet confirmed by Kafka")
                         .Register(*registry)
                         .Add({{"service", store_->service()}});
}

Relay::~Relay() { Stop(); }

absl::Status Relay::Start() {
  {
    absl::MutexLock lock(&mu_);
    partitions_.assign(store_->partitions(), PartitionState{});
    for (int p = 0; p < store_->partitions(); ++p) {
      auto stored = store_->GetMeta(RelayKey(p));
      if (!stored.ok()) return stored.status();
      if (*stored && (*stored)->size() == 16) {
        Decode(**stored, &partitions_[p].delivered,
               &partitions_[p].delivered_offset);
        partitions_[p].produced = partitions_[p].delivered;
        partitions_[p].persisted = partitions_[p].delivered;
      }
    }
  }
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

void Relay::Stop(absl::Duration timeout) {
  if (!running_.exchange(false)) return;
  thread_.join();
  if (producer_ != nullptr) {
    rd_kafka_flush(producer_,
                   static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    Persist();
    Disconnect();
  }
}

std::vector<uint64_t> Relay::Delivered() const {
  absl::MutexLock lock(&mu_);
  std::vector<uint64_t> out;
  for (const auto& p : partitions_) out.push_back(p.delivered);
  return out;
}

absl::Status Relay::WaitDelivered(
    const std::vector<wangge::common::v1::Position>& positions,
    absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    for (const auto& pos : positions) {
      if (pos.partition() >= partitions_.size() ||
          partitions_[pos.partition()].delivered < pos.sequence()) {
        return false;
      }
    }
    return true;
  };
  if (!mu_.AwaitWithDeadline(absl::Condition(&done), deadline)) {
    return absl::UnavailableError(
        "Kafka has not confirmed the events yet (ack_after_kafka); the write "
        "is stored and will be published: retry with the same request id");
  }
  return absl::OkStatus();
}

void Relay::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* relay = static_cast<Relay*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    relay->brokers_down_ = true;
  } else if (err == RD_KAFKA_RESP_ERR__FATAL) {
    relay->fatal_ = true;
  }
  log::Warning("kafka producer", {{"error", reason}});
}

void Relay::OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg,
                       void* opaque) {
  auto* relay = static_cast<Relay*>(opaque);
  const uint64_t tag = reinterpret_cast<uint64_t>(msg->_private);
  const uint32_t p = static_cast<uint32_t>(tag >> 48);
  const uint64_t seq = tag & ((uint64_t{1} << 48) - 1);
  if (relay->in_flight_ > 0) --relay->in_flight_;
  absl::MutexLock lock(&relay->mu_);
  if (p >= relay->partitions_.size()) return;
  PartitionState& state = relay->partitions_[p];
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    relay->brokers_down_ = false;
    // Only the next one: after a failed event, later ones that Kafka took
    // anyway (out of order) are not "delivered" until it is, so the stored
    // position never passes an event Kafka does not have.
    if (seq == state.delivered + 1) {
      state.delivered = seq;
      if (msg->offset >= 0) state.delivered_offset = msg->offset;
    }
  } else {
    // Produce again from the last confirmed event (what followed this one
    // failed too, or landed out of order; consumers skip duplicates).
    if (state.produced > state.delivered) {
      log::Warning("kafka delivery failed: producing again",
                   {{"partition", std::to_string(p)},
                    {"sequence", std::to_string(seq)},
                    {"error", rd_kafka_err2str(msg->err)}});
    }
    state.produced = std::min(state.produced, state.delivered);
    if (msg->err == RD_KAFKA_RESP_ERR__FATAL) relay->fatal_ = true;
  }
}

absl::Status Relay::Connect() {
  ClientBuild built;
  auto made = MakeClientConf(
      options_.kafka, absl::StrCat("wangge-", store_->service(), "-relay"),
      {
          {"enable.idempotence", "true"},
          {"acks", "all"},
          {"linger.ms", "1"},
          // A permanent failure of one message fails the rest of its
          // partition too (a fatal error: the producer is rebuilt and
          // produces again from the last delivered event) instead of
          // writing the ones after it around a gap.
          {"enable.gapless.guarantee", "true"},
          {"message.max.bytes", std::to_string(options_.max_message_bytes)},
          // Wait out outages: never expire a message.
          {"message.timeout.ms", "0"},
      },
      &built);
  if (!made.ok()) return made.status();
  rd_kafka_conf_t* conf = *made;
  char err[512];
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &Relay::OnDelivery);
  rd_kafka_conf_set_error_cb(conf, &Relay::OnError);
  producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (producer_ == nullptr) {
    rd_kafka_conf_destroy(conf);  // kept by the client only on success
    return absl::UnavailableError(err);
  }
  connected_to_ = std::move(built);
  brokers_down_ = false;
  fatal_ = false;
  need_watermark_check_ = true;
  in_flight_ = 0;
  return absl::OkStatus();
}

void Relay::Disconnect() {
  if (producer_ == nullptr) return;
  // Undelivered messages die with the producer; produce them again later.
  rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(producer_, 0);
  rd_kafka_destroy(producer_);
  producer_ = nullptr;
  in_flight_ = 0;
  absl::MutexLock lock(&mu_);
  for (auto& p : partitions_) p.produced = p.delivered;
}

void Relay::CheckForLostData() {
  for (uint32_t p = 0; p < static_cast<uint32_t>(store_->partitions()); ++p) {
    int64_t low = 0, high = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        producer_, options_.topic.c_str(), p, &low, &high, 2000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Tried again next round; said, since nothing is published meanwhile
      // (a topic with fewer partitions than the store never answers).
      if (absl::Now() - last_refusal_log_ > absl::Seconds(10)) {
        last_refusal_log_ = absl::Now();
        log::Warning("kafka: cannot read the topic's watermarks; holding",
                     {{"topic", options_.topic},
                      {"partition", std::to_string(p)},
                      {"error", rd_kafka_err2str(e)}});
      }
      return;
    }
    absl::MutexLock lock(&mu_);
    PartitionState& state = partitions_[p];
    if (state.delivered_offset >= 0 && high <= state.delivered_offset) {
      log::Warning(
          "broker lost the topic's data: republishing the log",
          {{"partition", std::to_string(p)},
           {"high_watermark", std::to_string(high)},
           {"last_delivered_offset", std::to_string(state.delivered_offset)}});
      state = PartitionState{};
      ++republished_;
    }
  }
  need_watermark_check_ = false;
}

bool Relay::ProducePending() {
  bool produced_any = false;
  for (uint32_t p = 0; p < static_cast<uint32_t>(store_->partitions()); ++p) {
    uint64_t from;
    {
      absl::MutexLock lock(&mu_);
      from = partitions_[p].produced + 1;
    }
    if (in_flight_ >= options_.max_in_flight) break;
    auto events = store_->ReadPartition(
        p, from, std::min(kBatch, options_.max_in_flight - in_flight_));
    if (!events.ok() || events->empty()) continue;
    uint64_t seq = from;
    for (const auto& e : *events) {
      wangge::common::v1::EventEnvelope env;
      env.ParseFromString(e.record());
      const std::string value = e.SerializeAsString();
      const uint64_t tag = (uint64_t{p} << 48) | seq;
      rd_kafka_resp_err_t err = rd_kafka_producev(
          producer_, RD_KAFKA_V_TOPIC(options_.topic.c_str()),
          RD_KAFKA_V_PARTITION(static_cast<int32_t>(p)),
          RD_KAFKA_V_KEY(env.stream_id().data(), env.stream_id().size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(tag)), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;  // poll first
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        // Refused before sending (too large for the producer, a partition
        // the topic lacks): it stays refused, so say so and wait rather
        // than read it again at once.
        ++refused_;
        if (absl::Now() - last_refusal_log_ > absl::Seconds(10)) {
          last_refusal_log_ = absl::Now();
          log::Error("kafka refused an event: its partition is held",
                     {{"topic", options_.topic},
                      {"partition", std::to_string(p)},
                      {"sequence", std::to_string(seq)},
                      {"bytes", std::to_string(value.size())},
                      {"error", rd_kafka_err2str(err)}});
        }
        held_ = true;
        break;
      }
      ++in_flight_;
      produced_any = true;
      absl::MutexLock lock(&mu_);
      partitions_[p].produced = seq;
      ++seq;
    }
  }
  return produced_any;
}

void Relay::Persist() {
  std::vector<std::pair<uint32_t, std::string>> writes;
  {
    absl::MutexLock lock(&mu_);
    for (uint32_t p = 0; p < partitions_.size(); ++p) {
      if (partitions_[p].delivered != partitions_[p].persisted) {
        writes.emplace_back(p, Encode(partitions_[p].delivered,
                                      partitions_[p].delivered_offset));
        partitions_[p].persisted = partitions_[p].delivered;
      }
    }
  }
  // Not fsync'd: losing it only republishes a few events.
  for (const auto& [p, value] : writes) {
    store_->PutMeta(RelayKey(p), value, /*sync=*/false).IgnoreError();
  }
}

void Relay::Loop() {
  absl::Time last_persist = absl::InfinitePast();
  while (running_) {
    if (producer_ == nullptr) {
      absl::Status s = Connect();
      if (!s.ok()) {
        log::Warning("kafka unavailable", {{"error", s.ToString()}});
        absl::SleepFor(absl::Milliseconds(500));
        continue;
      }
    }
    if (fatal_) {
      // A rejection that repeats (an ACL, a record the broker refuses)
      // would rebuild the producer in a tight loop: wait longer each time
      // it comes back soon after the last rebuild.
      const absl::Time now = absl::Now();
      fatal_backoff_ =
          now - last_rebuild_ > absl::Seconds(60)
              ? absl::ZeroDuration()
              : std::min(absl::Seconds(30),
                         std::max(absl::Milliseconds(200), fatal_backoff_ * 2));
      log::Warning("kafka producer hit a fatal error: rebuilding it",
                   {{"after", absl::FormatDuration(fatal_backoff_)}});
      ++rebuilds_;
      Disconnect();
      for (absl::Time until = now + fatal_backoff_;
           running_ && absl::Now() < until;) {
        absl::SleepFor(absl::Milliseconds(100));
      }
      last_rebuild_ = absl::Now();
      continue;
    }
    if (bootstrap_watch_.ShouldReconnect(options_.kafka, brokers_down_,
                                         connected_to_)) {
      log::Info("kafka bootstrap or TLS files changed: reconnecting");
      ++rebuilds_;
      Disconnect();
      continue;
    }
    if (need_watermark_check_) CheckForLostData();
    const bool produced = !need_watermark_check_ && ProducePending();
    rd_kafka_poll(producer_, 0);
    if (absl::Now() - last_persist > absl::Milliseconds(50)) {
      Persist();
      last_persist = absl::Now();
      absl::MutexLock metrics_lock(&metrics_mu_);
      if (backlog_metric_) {
        const auto heads = store_->Heads();
        const auto delivered = Delivered();
        double backlog = 0;
        for (size_t p = 0; p < heads.size() && p < delivered.size(); ++p) {
          if (heads[p] > delivered[p])
            backlog += static_cast<double>(heads[p] - delivered[p]);
        }
        backlog_metric_->Set(backlog);
      }
    }
    if (held_) {
      held_ = false;
      rd_kafka_poll(producer_, 1000);
    } else if (!produced) {
      if (in_flight_ > 0 || need_watermark_check_) {
        rd_kafka_poll(producer_, 5);
      } else {
        std::vector<uint64_t> seen;
        {
          absl::MutexLock lock(&mu_);
          for (const auto& p : partitions_) seen.push_back(p.produced);
        }
        store_->WaitForAnyAppend(seen, absl::Now() + absl::Milliseconds(100));
      }
    }
  }
}

}  // namespace wangge::eventbus
