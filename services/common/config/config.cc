#include "services/common/config/config.h"

#include <algorithm>
#include <cstdlib>

#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/log/log.h"
#include "services/common/status/errors.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "gRPC listen address");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:0",
          "Prometheus /metrics address; empty disables it");
ABSL_FLAG(std::string, health_listen, "",
          "A second, plaintext listener serving only grpc.health.v1 (for "
          "kubelet probes when the main port requires client "
          "certificates); empty: none");
ABSL_FLAG(std::string, data_dir, "", "Directory of the service's RocksDB");
ABSL_FLAG(std::string, kafka_bootstrap, "", "Kafka bootstrap servers");
ABSL_FLAG(std::string, kafka_bootstrap_file, "",
          "File holding the bootstrap servers; re-read when Kafka fails");
ABSL_FLAG(std::string, kafka_ca_file, "",
          "CA of the Kafka cluster (PEM); set: Kafka over TLS");
ABSL_FLAG(std::string, kafka_cert_file, "", "Kafka client certificate (PEM)");
ABSL_FLAG(std::string, kafka_key_file, "", "Kafka client key (PEM)");
ABSL_FLAG(absl::Duration, kafka_fetch_wait, absl::Milliseconds(5),
          "How long a consumer's fetch may wait for data (fetch.wait.max.ms). "
          "Apache Kafka answers as soon as data arrives, so 500ms costs no "
          "latency there; the dev broker holds an empty fetch for the whole "
          "wait, hence 5ms for local stacks and tests");
ABSL_FLAG(std::string, intake_addr, "", "intake's gRPC address (ReadLog)");
ABSL_FLAG(std::string, supervision_addr, "", "supervision's gRPC address");
ABSL_FLAG(std::string, dispatch_addr, "", "dispatch's gRPC address");
ABSL_FLAG(std::string, oversight_addr, "", "oversight's gRPC address");
ABSL_FLAG(std::string, registry_addr, "", "registry's gRPC address");
ABSL_FLAG(bool, plaintext, false,
          "Serve and call without TLS (development on loopback only)");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA bundle: clients must present a certificate it signed (mTLS)");
ABSL_FLAG(std::string, jwt_algorithm, "HS256",
          "Pinned token algorithm: HS256, RS256 or ES256");
ABSL_FLAG(std::string, jwt_key_file, "",
          "HS256 secret or RS256/ES256 public key (PEM)");
ABSL_FLAG(std::string, jwt_audience, "wangge", "Expected token audience");
ABSL_FLAG(std::string, service_token_file, "",
          "This service's own bearer token, for calls to peers");
ABSL_FLAG(std::string, signing_key_file, "",
          "Checkpoint signing key (PEM, Ed25519 or SM2)");
ABSL_FLAG(std::string, signing_key_id, "", "Key id recorded in checkpoints");
ABSL_FLAG(std::string, crypto_suite, "standard",
          "standard (SHA-256, Ed25519, AES-256-GCM) or guomi (SM3, SM2, SM4)");
ABSL_FLAG(std::string, durability, "sync", "sync, async or ack_after_kafka");
ABSL_FLAG(int, partitions, 8, "Store and topic partitions");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(std::string, dev_clock_offset_file, "",
          "Development and end-to-end tests only: a file holding seconds to "
          "add to the clock (moves deadlines and timers)");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(20),
          "How long shutdown waits for in-flight calls");
ABSL_FLAG(absl::Duration, checkpoint_every, absl::Seconds(10),
          "Write a signed checkpoint this long after new events");
ABSL_FLAG(int, checkpoint_every_events, 1000,
          "Write a signed checkpoint after this many events");
ABSL_FLAG(int, handler_threads, 64,
          "Threads running handler bodies (waiting on group commits)");
ABSL_FLAG(int, max_streams, 1024,
          "Server streams (watches, ReadLog tails) open at once; past it a new "
          "one is refused with RESOURCE_EXHAUSTED");
ABSL_FLAG(bool, reflection, true,
          "Serve gRPC server reflection on --listen (grpcurl list and "
          "describe without proto files). It answers without a token: "
          "production turns it off");
ABSL_FLAG(int, max_streams_per_caller, 64,
          "Server streams one caller (token subject) may hold open at once, "
          "so that one client cannot take every place");

namespace wangge::config {
namespace {

bool IsWanggeFlag(const absl::CommandLineFlag& flag) {
  return absl::StrContains(flag.Filename(), "services/");
}

}  // namespace

void ApplyEnvironmentOverrides() {
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!IsWanggeFlag(*flag)) continue;
    const char* value = std::getenv(absl::AsciiStrToUpper(name).c_str());
    if (value == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      std::fprintf(stderr, "environment %s=%s: %s\n",
                   absl::AsciiStrToUpper(name).c_str(), value, error.c_str());
      std::exit(2);
    }
  }
}

std::vector<char*> ParseFlags(int argc, char** argv) {
  ApplyEnvironmentOverrides();
  return absl::ParseCommandLine(argc, argv);
}

std::map<std::string, std::string> ResolvedFlags() {
  std::map<std::string, std::string> out;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsWanggeFlag(*flag)) out[std::string(name)] = flag->CurrentValue();
  }
  return out;
}

std::string Describe(const ServiceConfig& c) {
  std::vector<std::string> parts = {
      absl::StrCat("service=", c.service),
      absl::StrCat("listen=", c.listen),
      absl::StrCat("metrics_listen=", c.metrics_listen),
      absl::StrCat("health_listen=", c.health_listen),
      absl::StrCat("data_dir=", c.data_dir),
      absl::StrCat("kafka_bootstrap=", c.kafka_bootstrap),
      absl::StrCat("kafka_bootstrap_file=", c.kafka_bootstrap_file),
      absl::StrCat("kafka_tls=", c.kafka_ca_file.empty() ? "off" : "on"),
      absl::StrCat("kafka_fetch_wait=",
                   absl::FormatDuration(c.kafka_fetch_wait)),
      absl::StrCat("plaintext=", c.tls.plaintext ? "true" : "false"),
      absl::StrCat("tls_cert_file=", c.tls.cert_file),
      absl::StrCat("tls_ca_file=", c.tls.ca_file),
      absl::StrCat("jwt_algorithm=", c.auth.algorithm),
      absl::StrCat("jwt_key_file=", c.auth.key_file),
      absl::StrCat("jwt_audience=", c.auth.audience),
      absl::StrCat("signing_key_file=", c.signing_key_file),
      absl::StrCat("signing_key_id=", c.signing_key_id),
      absl::StrCat("crypto_suite=", c.crypto_suite),
      absl::StrCat("durability=", c.durability),
      absl::StrCat("partitions=", c.partitions),
      absl::StrCat("log_level=", c.log_level),
      absl::StrCat("dev_clock_offset_file=", c.dev_clock_offset_file),
      absl::StrCat("drain_timeout=", absl::FormatDuration(c.drain_timeout)),
      absl::StrCat("handler_threads=", c.handler_threads),
      absl::StrCat("max_streams=", c.max_streams),
      absl::StrCat("max_streams_per_caller=", c.max_streams_per_caller),
      absl::StrCat("reflection=", c.reflection ? "true" : "false")};
  for (const auto& [peer, addr] : c.peers) {
    parts.push_back(absl::StrCat(peer, "_addr=", addr));
  }
  // Then every other flag of ours, the service's own included (its time
  // limits, thresholds, files), as resolved: the line says all that the
  // process runs with.
  absl::flat_hash_set<std::string> named;
  for (const std::string& part : parts) {
    named.insert(part.substr(0, part.find('=')));
  }
  for (const auto& [name, value] : ResolvedFlags()) {
    if (named.count(name) || name == "token") continue;  // no secret values
    parts.push_back(absl::StrCat(name, "=", value));
  }
  return absl::StrJoin(parts, " ");
}

const std::vector<std::string>& SourcesOf(const std::string& service) {
  static const auto* const kSources =
      new std::map<std::string, std::vector<std::string>>{
          {"intake", {"registry", "supervision"}},
          {"supervision", {"registry", "intake", "dispatch", "oversight"}},
          {"dispatch", {"registry", "supervision", "oversight"}},
          {"oversight", {"registry", "supervision", "dispatch"}},
      };
  static const auto* const kNone = new std::vector<std::string>();
  auto it = kSources->find(service);
  return it == kSources->end() ? *kNone : it->second;
}

absl::StatusOr<ServiceConfig> LoadServiceConfig(const std::string& service) {
  ServiceConfig c;
  c.service = service;
  c.listen = absl::GetFlag(FLAGS_listen);
  c.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  c.health_listen = absl::GetFlag(FLAGS_health_listen);
  c.data_dir = absl::GetFlag(FLAGS_data_dir);
  c.kafka_bootstrap = absl::GetFlag(FLAGS_kafka_bootstrap);
  c.kafka_bootstrap_file = absl::GetFlag(FLAGS_kafka_bootstrap_file);
  c.kafka_ca_file = absl::GetFlag(FLAGS_kafka_ca_file);
  c.kafka_cert_file = absl::GetFlag(FLAGS_kafka_cert_file);
  c.kafka_key_file = absl::GetFlag(FLAGS_kafka_key_file);
  c.kafka_fetch_wait = absl::GetFlag(FLAGS_kafka_fetch_wait);
  for (const auto& [peer, value] : std::map<std::string, std::string>{
           {"intake", absl::GetFlag(FLAGS_intake_addr)},
           {"supervision", absl::GetFlag(FLAGS_supervision_addr)},
           {"dispatch", absl::GetFlag(FLAGS_dispatch_addr)},
           {"oversight", absl::GetFlag(FLAGS_oversight_addr)},
           {"registry", absl::GetFlag(FLAGS_registry_addr)}}) {
    if (!value.empty()) c.peers[peer] = value;
  }
  c.tls.plaintext = absl::GetFlag(FLAGS_plaintext);
  c.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  c.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  c.tls.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  c.auth.algorithm = absl::GetFlag(FLAGS_jwt_algorithm);
  c.auth.key_file = absl::GetFlag(FLAGS_jwt_key_file);
  c.auth.audience = absl::GetFlag(FLAGS_jwt_audience);
  c.service_token_file = absl::GetFlag(FLAGS_service_token_file);
  c.signing_key_file = absl::GetFlag(FLAGS_signing_key_file);
  c.signing_key_id = absl::GetFlag(FLAGS_signing_key_id);
  c.crypto_suite = absl::GetFlag(FLAGS_crypto_suite);
  c.dev_clock_offset_file = absl::GetFlag(FLAGS_dev_clock_offset_file);
  c.durability = absl::GetFlag(FLAGS_durability);
  c.partitions = absl::GetFlag(FLAGS_partitions);
  c.log_level = absl::GetFlag(FLAGS_log_level);
  c.drain_timeout = absl::GetFlag(FLAGS_drain_timeout);
  c.handler_threads = absl::GetFlag(FLAGS_handler_threads);
  c.max_streams = absl::GetFlag(FLAGS_max_streams);
  c.max_streams_per_caller = absl::GetFlag(FLAGS_max_streams_per_caller);
  c.reflection = absl::GetFlag(FLAGS_reflection);
  if (service == "registry") c.max_request_bytes = 64 << 20;
  c.checkpoint_every = absl::GetFlag(FLAGS_checkpoint_every);
  c.checkpoint_every_events = absl::GetFlag(FLAGS_checkpoint_every_events);

  std::vector<status::FieldViolation> bad;
  if (c.listen.empty()) bad.push_back({"listen", "required"});
  if (!c.tls.plaintext && (c.tls.cert_file.empty() || c.tls.key_file.empty())) {
    bad.push_back({"tls_cert_file",
                   "TLS needs --tls_cert_file and --tls_key_file "
                   "(or --plaintext on loopback)"});
  }
  if (c.kafka_cert_file.empty() != c.kafka_key_file.empty()) {
    bad.push_back(
        {"kafka_cert_file", "a Kafka client certificate needs its key"});
  }
  if (!c.kafka_cert_file.empty() && c.kafka_ca_file.empty()) {
    bad.push_back(
        {"kafka_ca_file", "required with a Kafka client certificate"});
  }
  if (c.auth.algorithm != "HS256" && c.auth.algorithm != "RS256" &&
      c.auth.algorithm != "ES256") {
    bad.push_back({"jwt_algorithm", "must be HS256, RS256 or ES256"});
  }
  if (c.auth.key_file.empty()) bad.push_back({"jwt_key_file", "required"});
  if (c.crypto_suite != "standard" && c.crypto_suite != "guomi") {
    bad.push_back({"crypto_suite", "must be standard or guomi"});
  }
  if (c.durability != "sync" && c.durability != "async" &&
      c.durability != "ack_after_kafka") {
    bad.push_back({"durability", "must be sync, async or ack_after_kafka"});
  }
  // A service that follows the registry without its address would never
  // get the catalogue (no ReadLog to repair from, nothing to be ready on)
  // and refuse every command: say so at start instead.
  const auto& sources = SourcesOf(service);
  const bool follows_registry =
      std::find(sources.begin(), sources.end(), "registry") != sources.end();
  if (follows_registry &&
      (!c.kafka_bootstrap.empty() || !c.kafka_bootstrap_file.empty()) &&
      c.peers.find("registry") == c.peers.end()) {
    bad.push_back({"registry_addr",
                   "required with Kafka: the registry's ReadLog repairs what "
                   "its topic no longer holds"});
  }
  if (c.durability == "ack_after_kafka" && c.kafka_bootstrap.empty() &&
      c.kafka_bootstrap_file.empty()) {
    bad.push_back({"durability",
                   "ack_after_kafka needs --kafka_bootstrap or "
                   "--kafka_bootstrap_file"});
  }
  if (c.checkpoint_every <= absl::ZeroDuration() ||
      c.checkpoint_every_events < 1) {
    bad.push_back({"checkpoint_every", "must be positive"});
  }
  if (c.handler_threads < 1 || c.handler_threads > 4096) {
    bad.push_back({"handler_threads", "must be 1..4096"});
  }
  if (c.max_streams < 1 || c.max_streams > 65536) {
    bad.push_back({"max_streams", "must be 1..65536"});
  }
  if (c.max_streams_per_caller < 1 ||
      c.max_streams_per_caller > c.max_streams) {
    bad.push_back({"max_streams_per_caller", "must be 1..max_streams"});
  }
  if (c.kafka_fetch_wait < absl::Milliseconds(1) ||
      c.kafka_fetch_wait > absl::Seconds(10)) {
    bad.push_back({"kafka_fetch_wait", "must be 1ms..10s"});
  }
  if (c.partitions < 1 || c.partitions > 1024) {
    bad.push_back({"partitions", "must be 1..1024"});
  }
  if (!log::ParseLevel(c.log_level)) {
    bad.push_back({"log_level", "must be debug, info, warning or error"});
  }
  if (!bad.empty()) return status::InvalidArgument(std::move(bad));
  return c;
}

}  // namespace wangge::config
