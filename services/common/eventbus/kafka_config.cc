#include "services/common/eventbus/kafka_config.h"

#include <librdkafka/rdkafka.h>
#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/files/files.h"

namespace wangge::eventbus {

absl::StatusOr<std::string> KafkaEndpoint::Resolve() const {
  if (!bootstrap.empty()) return bootstrap;
  if (bootstrap_file.empty()) {
    return absl::FailedPreconditionError("no Kafka bootstrap configured");
  }
  auto content = files::ReadFileToString(bootstrap_file);
  if (!content.ok()) return content.status();
  std::string trimmed(absl::StripAsciiWhitespace(*content));
  if (trimmed.empty()) {
    return absl::UnavailableError(absl::StrCat(bootstrap_file, " is empty"));
  }
  return trimmed;
}

std::optional<std::string> KafkaEndpoint::TlsFilesStamp() const {
  std::string stamp;
  for (const std::string* path : {&ca_file, &cert_file, &key_file}) {
    if (path->empty()) continue;
    struct stat st;
    if (::stat(path->c_str(), &st) != 0) return std::nullopt;
    absl::StrAppend(&stamp, *path, " ", st.st_dev, ":", st.st_ino, ":",
                    st.st_size, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec,
                    ";");
  }
  return stamp;
}

std::vector<std::pair<std::string, std::string>>
KafkaEndpoint::SecuritySettings() const {
  if (ca_file.empty()) return {};
  std::vector<std::pair<std::string, std::string>> out = {
      {"security.protocol", "ssl"}, {"ssl.ca.location", ca_file}};
  if (!cert_file.empty()) {
    out.push_back({"ssl.certificate.location", cert_file});
    out.push_back({"ssl.key.location", key_file});
  }
  return out;
}

absl::StatusOr<rd_kafka_conf_t*> MakeKafkaConf(
    const std::vector<std::pair<std::string, std::string>>& settings) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(absl::StrCat(k, ": ", err));
    }
  }
  return conf;
}

absl::StatusOr<rd_kafka_conf_t*> MakeClientConf(
    const KafkaEndpoint& endpoint, const std::string& client_id,
    const std::vector<std::pair<std::string, std::string>>& settings,
    ClientBuild* built) {
  auto resolved = endpoint.Resolve();
  if (!resolved.ok()) return resolved.status();
  // Before librdkafka reads the files: a renewal in between is seen as a
  // change (one rebuild too many), never missed.
  // (A file missing now fails the client's creation; "" then differs from
  // any later stamp.)
  std::string tls_files = endpoint.TlsFilesStamp().value_or("");
  std::vector<std::pair<std::string, std::string>> all = {
      {"bootstrap.servers", *resolved},
      {"client.id", client_id},
      {"socket.nagle.disable", "true"},
      {"log_level", "3"},
  };
  for (auto& s : endpoint.SecuritySettings()) all.push_back(std::move(s));
  all.insert(all.end(), settings.begin(), settings.end());
  auto conf = MakeKafkaConf(all);
  if (conf.ok()) *built = ClientBuild{*resolved, std::move(tls_files)};
  return conf;
}

bool BootstrapWatch::ShouldReconnect(const KafkaEndpoint& endpoint,
                                     bool brokers_down,
                                     const ClientBuild& built) {
  if (!endpoint.ca_file.empty() && absl::Now() >= next_tls_check_) {
    next_tls_check_ = absl::Now() + tls_check_;
    // A file missing for now (mid-swap, or removed) would fail the new
    // client's handshakes: keep the working one until it is back.
    const std::optional<std::string> now_stamp = endpoint.TlsFilesStamp();
    if (now_stamp && *now_stamp != built.tls_files) return true;
  }
  if (!brokers_down) {
    down_since_ = absl::InfiniteFuture();
    return false;
  }
  const absl::Time now = absl::Now();
  if (down_since_ == absl::InfiniteFuture()) down_since_ = now;
  if (now - down_since_ < absl::Seconds(1)) return false;
  down_since_ = now;  // look again in a second
  auto bootstrap = endpoint.Resolve();
  return bootstrap.ok() && *bootstrap != built.bootstrap;
}

std::string TopicOf(const std::string& service) {
  return absl::StrCat("wangge.", service, ".events");
}

}  // namespace wangge::eventbus
