#include "services/devbroker/dev_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "absl/strings/str_cat.h"

namespace wangge::devbroker {

std::vector<std::string> ServiceTopics() {
  std::vector<std::string> topics;
  for (const char* s :
       {"intake", "supervision", "dispatch", "oversight", "registry"}) {
    topics.push_back(absl::StrCat("wangge.", s, ".events"));
  }
  return topics;
}

DevBroker::~DevBroker() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

absl::StatusOr<std::unique_ptr<DevBroker>> DevBroker::Start(
    const std::vector<std::string>& topics, int partitions) {
  std::unique_ptr<DevBroker> broker(new DevBroker());
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The mock cluster needs a client instance to live in; it never connects.
  if (rd_kafka_conf_set(conf, "client.id", "wangge-devbroker", err,
                        sizeof(err)) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) !=
          RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(err);
  }
  broker->handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (broker->handle_ == nullptr) return absl::InternalError(err);
  broker->cluster_ = rd_kafka_mock_cluster_new(broker->handle_, 1);
  if (broker->cluster_ == nullptr) {
    return absl::InternalError("cannot start the mock cluster");
  }
  for (const auto& topic : topics) {
    rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(
        broker->cluster_, topic.c_str(), partitions, 1);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(
          absl::StrCat("create topic ", topic, ": ", rd_kafka_err2str(e)));
    }
  }
  broker->bootstrap_ = rd_kafka_mock_cluster_bootstraps(broker->cluster_);
  return broker;
}

void DevBroker::SetDown() { rd_kafka_mock_broker_set_down(cluster_, 1); }
void DevBroker::SetUp() { rd_kafka_mock_broker_set_up(cluster_, 1); }

}  // namespace wangge::devbroker
