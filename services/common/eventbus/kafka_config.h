#ifndef WANGGE_SERVICES_COMMON_EVENTBUS_KAFKA_CONFIG_H_
#define WANGGE_SERVICES_COMMON_EVENTBUS_KAFKA_CONFIG_H_

// Where Kafka is: a fixed bootstrap list, or a file re-read when the
// connection fails (the dev broker moves to a new port at every start).

#include <string>

#include "absl/status/statusor.h"

namespace wangge::eventbus {

struct KafkaEndpoint {
  std::string bootstrap;       // used when set
  std::string bootstrap_file;  // else read from here
  // Current bootstrap servers (trimmed), or an error naming the file.
  absl::StatusOr<std::string> Resolve() const;
};

// "wangge.<service>.events".
std::string TopicOf(const std::string& service);

}  // namespace wangge::eventbus

#endif  // WANGGE_SERVICES_COMMON_EVENTBUS_KAFKA_CONFIG_H_
