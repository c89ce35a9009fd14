#ifndef WANGGE_SERVICES_DEVBROKER_DEV_BROKER_H_
#define WANGGE_SERVICES_DEVBROKER_DEV_BROKER_H_

// A Kafka broker for development and tests: librdkafka's mock cluster
// (rdkafka_mock.h), which speaks the real Kafka protocol on loopback and
// keeps data in memory only (about 5 MiB per partition). Production runs
// Apache Kafka (deploy/). The port changes at every start (librdkafka 2.0.2
// cannot fix it), so the bootstrap address is written to a file that the
// services re-read when their connection fails.
//
// Thread safety: methods may be called from any thread.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace wangge::devbroker {

// The topics of every Wangge service: wangge.<service>.events.
std::vector<std::string> ServiceTopics();

class DevBroker {
 public:
  ~DevBroker();
  // Starts a one-broker cluster with `topics`, each of `partitions`.
  static absl::StatusOr<std::unique_ptr<DevBroker>> Start(
      const std::vector<std::string>& topics, int partitions);

  const std::string& bootstrap() const { return bootstrap_; }
  // Takes the broker down (connections refused) and back up.
  void SetDown();
  void SetUp();
  // For fault injection in tests (rd_kafka_mock_push_request_errors, ...).
  rd_kafka_mock_cluster_t* mock_cluster() const { return cluster_; }

 private:
  DevBroker() = default;
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

}  // namespace wangge::devbroker

#endif  // WANGGE_SERVICES_DEVBROKER_DEV_BROKER_H_
