#include "services/audit/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "services/common/crypto/crypto.h"

namespace wangge::audit {
namespace {

struct KafkaDeleter {
  void operator()(rd_kafka_t* k) const {
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
  }
};

}  // namespace

absl::Status ReadTopic(
    const eventbus::KafkaEndpoint& kafka, const std::string& service,
    const std::function<void(uint32_t, const common::v1::StoredEvent&)>& fn,
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string topic = eventbus::TopicOf(service);
  eventbus::ClientBuild built;
  auto conf = eventbus::MakeClientConf(
      kafka, "wangge-audit",
      // A group id is required to assign partitions; the group is never
      // joined (no subscribe) and nothing is committed.
      {{"group.id", "wangge-audit"},
       {"enable.auto.commit", "false"},
       {"auto.offset.reset", "earliest"},
       {"fetch.wait.max.ms", "100"}},
      &built);
  if (!conf.ok()) return conf.status();
  char err[512];
  std::unique_ptr<rd_kafka_t, KafkaDeleter> consumer(
      rd_kafka_new(RD_KAFKA_CONSUMER, *conf, err, sizeof(err)));
  if (consumer == nullptr) {
    rd_kafka_conf_destroy(*conf);  // kept by the client only on success
    return absl::UnavailableError(err);
  }
  rd_kafka_poll_set_consumer(consumer.get());

  // The topic's partitions and where each ends now.
  const rd_kafka_metadata_t* metadata = nullptr;
  std::unique_ptr<rd_kafka_topic_t, void (*)(rd_kafka_topic_t*)> handle(
      rd_kafka_topic_new(consumer.get(), topic.c_str(), nullptr),
      rd_kafka_topic_destroy);
  rd_kafka_resp_err_t e =
      rd_kafka_metadata(consumer.get(), 0, handle.get(), &metadata, 10000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR || metadata->topic_cnt != 1 ||
      metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const std::string why =
        e != RD_KAFKA_RESP_ERR_NO_ERROR
            ? rd_kafka_err2str(e)
            : (metadata->topic_cnt == 1
                   ? rd_kafka_err2str(metadata->topics[0].err)
                   : "no such topic");
    if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
    return absl::UnavailableError(
        absl::StrCat("topic ", topic, " at ", built.bootstrap, ": ", why));
  }
  const int partitions = metadata->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(metadata);
  std::map<int32_t, int64_t> end;  // partition -> high watermark
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    int64_t low = 0, high = 0;
    e = rd_kafka_query_watermark_offsets(consumer.get(), topic.c_str(), p, &low,
                                         &high, 10000);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_partition_list_destroy(list);
      return absl::UnavailableError(absl::StrCat("watermarks of ", topic, "/",
                                                 p, ": ", rd_kafka_err2str(e)));
    }
    if (high > low) {
      end[p] = high;
      rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  e = rd_kafka_assign(consumer.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(rd_kafka_err2str(e));
  }
  // Per partition, a SHA-256 of each message passed on, by sequence: a
  // repeat with the same bytes is a republished duplicate; one with other
  // bytes is passed on for the verifier to report. A cryptographic digest,
  // not a 64-bit hash: whoever could make a rewritten event collide with
  // the original would have it dropped as a duplicate, unseen.
  const crypto::Hasher sha256(common::v1::HASH_ALGORITHM_SHA256);
  std::map<int32_t, std::vector<std::array<char, 32>>> seen;
  while (!end.empty()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          topic, ": ", end.size(), " partitions not read to their end"));
    }
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(consumer.get(), 200);
    if (msg == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> owned(
        msg, rd_kafka_message_destroy);
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(
          absl::StrCat(topic, ": ", rd_kafka_message_errstr(msg)));
    }
    const int32_t p = msg->partition;
    common::v1::StoredEvent event;
    if (!event.ParseFromArray(msg->payload, static_cast<int>(msg->len))) {
      return absl::DataLossError(absl::StrCat(
          topic, "/", p, " offset ", msg->offset, ": not a stored event"));
    }
    common::v1::EventEnvelope envelope;
    const std::string digest = sha256.Hash(
        absl::string_view(static_cast<const char*>(msg->payload), msg->len));
    std::array<char, 32> fingerprint{};
    std::copy_n(digest.data(), std::min<size_t>(digest.size(), 32),
                fingerprint.begin());
    std::vector<std::array<char, 32>>& fingerprints = seen[p];
    bool duplicate = false;
    if (envelope.ParseFromString(event.record()) && envelope.sequence() > 0) {
      const uint64_t seq = envelope.sequence();
      if (seq <= fingerprints.size()) {
        duplicate = fingerprints[seq - 1] == fingerprint;
      } else if (seq == fingerprints.size() + 1) {
        fingerprints.push_back(fingerprint);
      }
    }
    if (!duplicate) fn(static_cast<uint32_t>(p), event);
    auto it = end.find(p);
    if (it != end.end() && msg->offset + 1 >= it->second) end.erase(it);
  }
  return absl::OkStatus();
}

}  // namespace wangge::audit
