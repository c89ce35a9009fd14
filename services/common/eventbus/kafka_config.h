#ifndef WANGGE_SERVICES_COMMON_EVENTBUS_KAFKA_CONFIG_H_
#define WANGGE_SERVICES_COMMON_EVENTBUS_KAFKA_CONFIG_H_

// Where Kafka is: a fixed bootstrap list, or a file re-read when the
// connection fails (the dev broker moves to a new port at every start).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

typedef struct rd_kafka_conf_s rd_kafka_conf_t;

namespace wangge::eventbus {

struct KafkaEndpoint {
  std::string bootstrap;       // used when set
  std::string bootstrap_file;  // else read from here
  // TLS with a client certificate when set (Strimzi's cluster CA and the
  // KafkaUser's certificate).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // librdkafka settings for the above.
  std::vector<std::pair<std::string, std::string>> SecuritySettings() const;
  // Current bootstrap servers (trimmed), or an error naming the file.
  absl::StatusOr<std::string> Resolve() const;
  // Which TLS files are there now (device, inode, size and modification
  // time of each; "" without TLS): a renewal changes it, also when
  // Kubernetes swaps a mounted Secret's files through a new symlink. None
  // while one of them is missing.
  std::optional<std::string> TlsFilesStamp() const;
};

// What a client was built with: librdkafka reads the bootstrap servers and
// the TLS files once, when the client is made.
struct ClientBuild {
  std::string bootstrap;
  std::string tls_files;  // KafkaEndpoint::TlsFilesStamp() then
};

// A librdkafka configuration from name/value pairs, or the first setting it
// refuses. The caller owns the result (rd_kafka_new takes it).
absl::StatusOr<rd_kafka_conf_t*> MakeKafkaConf(
    const std::vector<std::pair<std::string, std::string>>& settings);

// A Wangge client's configuration: the endpoint's bootstrap servers (also
// returned in `bootstrap`) and security, the client id, quiet logs, Nagle
// off (small events on a request/response path: with Nagle and delayed
// acknowledgements each hop waited tens of milliseconds), then `settings`.
absl::StatusOr<rd_kafka_conf_t*> MakeClientConf(
    const KafkaEndpoint& endpoint, const std::string& client_id,
    const std::vector<std::pair<std::string, std::string>>& settings,
    ClientBuild* built);

// Whether a client should be rebuilt: when the brokers have been
// unreachable for a while and the bootstrap servers moved (the dev broker
// restarted on a new port), or when the TLS files changed since it was built
// (a renewed client certificate or CA, looked at every `tls_check`; the old
// certificate would fail every handshake once it expires). Call on every
// loop turn with the client's current state and what it was built with.
class BootstrapWatch {
 public:
  explicit BootstrapWatch(absl::Duration tls_check = absl::Seconds(10))
      : tls_check_(tls_check) {}
  bool ShouldReconnect(const KafkaEndpoint& endpoint, bool brokers_down,
                       const ClientBuild& built);

 private:
  const absl::Duration tls_check_;
  absl::Time next_tls_check_ = absl::InfinitePast();
  absl::Time down_since_ = absl::InfiniteFuture();
};

// "wangge.<service>.events".
std::string TopicOf(const std::string& service);

}  // namespace wangge::eventbus

#endif  // WANGGE_SERVICES_COMMON_EVENTBUS_KAFKA_CONFIG_H_
