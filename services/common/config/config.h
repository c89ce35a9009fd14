#ifndef WANGGE_SERVICES_COMMON_CONFIG_CONFIG_H_
#define WANGGE_SERVICES_COMMON_CONFIG_CONFIG_H_

// The flags every service takes (contracts: "Addresses and configuration"),
// their environment overrides, validation and the one log line of the
// resolved configuration.
//
// Precedence: command line > environment variable of the flag's name in
// upper case (LISTEN, DATA_DIR, ...) > default. Only Wangge's own flags read
// the environment.

#include <map>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

ABSL_DECLARE_FLAG(std::string, listen);
ABSL_DECLARE_FLAG(std::string, metrics_listen);
ABSL_DECLARE_FLAG(std::string, health_listen);
ABSL_DECLARE_FLAG(std::string, data_dir);
ABSL_DECLARE_FLAG(std::string, kafka_bootstrap);
ABSL_DECLARE_FLAG(std::string, kafka_bootstrap_file);
ABSL_DECLARE_FLAG(std::string, kafka_ca_file);
ABSL_DECLARE_FLAG(std::string, kafka_cert_file);
ABSL_DECLARE_FLAG(std::string, kafka_key_file);
ABSL_DECLARE_FLAG(absl::Duration, kafka_fetch_wait);
ABSL_DECLARE_FLAG(std::string, intake_addr);
ABSL_DECLARE_FLAG(std::string, supervision_addr);
ABSL_DECLARE_FLAG(std::string, dispatch_addr);
ABSL_DECLARE_FLAG(std::string, oversight_addr);
ABSL_DECLARE_FLAG(std::string, registry_addr);
ABSL_DECLARE_FLAG(bool, plaintext);
ABSL_DECLARE_FLAG(std::string, tls_cert_file);
ABSL_DECLARE_FLAG(std::string, tls_key_file);
ABSL_DECLARE_FLAG(std::string, tls_ca_file);
ABSL_DECLARE_FLAG(std::string, jwt_algorithm);
ABSL_DECLARE_FLAG(std::string, jwt_key_file);
ABSL_DECLARE_FLAG(std::string, jwt_audience);
ABSL_DECLARE_FLAG(std::string, service_token_file);
ABSL_DECLARE_FLAG(std::string, signing_key_file);
ABSL_DECLARE_FLAG(std::string, signing_key_id);
ABSL_DECLARE_FLAG(std::string, crypto_suite);
ABSL_DECLARE_FLAG(std::string, durability);
ABSL_DECLARE_FLAG(int, partitions);
ABSL_DECLARE_FLAG(std::string, log_level);
ABSL_DECLARE_FLAG(absl::Duration, drain_timeout);
ABSL_DECLARE_FLAG(int, handler_threads);
ABSL_DECLARE_FLAG(int, max_streams);
ABSL_DECLARE_FLAG(int, max_streams_per_caller);
ABSL_DECLARE_FLAG(bool, reflection);
ABSL_DECLARE_FLAG(absl::Duration, checkpoint_every);
ABSL_DECLARE_FLAG(int, checkpoint_every_events);

namespace wangge::config {

struct TlsConfig {
  bool plaintext = false;
  std::string cert_file;
  std::string key_file;
  // CA that signs peers' certificates: set on a server, clients must present
  // a certificate from it (mTLS); set on a client, it verifies the server.
  std::string ca_file;
  // How often the files are checked for a renewal (cert-manager rewrites the
  // mounted Secret; connections made after that use the new certificate).
  absl::Duration refresh = absl::Minutes(1);
};

struct AuthConfig {
  std::string algorithm = "HS256";  // HS256 (development), RS256, ES256
  std::string key_file;             // HS secret, or the PEM public key
  std::string audience = "wangge";
};

struct ServiceConfig {
  std::string service;
  std::string listen;
  std::string metrics_listen;
  std::string health_listen;  // plaintext, grpc.health.v1 only; "" = none
  std::string data_dir;
  std::string kafka_bootstrap;
  std::string kafka_bootstrap_file;
  // Kafka over TLS with a client certificate (Strimzi KafkaUser); empty:
  // plaintext.
  std::string kafka_ca_file;
  std::string kafka_cert_file;
  std::string kafka_key_file;
  // A consumer's fetch.wait.max.ms (see the flag).
  absl::Duration kafka_fetch_wait = absl::Milliseconds(5);
  std::map<std::string, std::string> peers;  // service -> address
  // Development only: the clock is offset by this file's seconds.
  std::string dev_clock_offset_file;
  TlsConfig tls;
  AuthConfig auth;
  std::string service_token_file;
  std::string signing_key_file;
  std::string signing_key_id;
  std::string crypto_suite;  // "standard" (SHA-256/Ed25519/AES-GCM) or "guomi"
  std::string durability;    // "sync", "async", "ack_after_kafka"
  int partitions = 8;
  std::string log_level;
  absl::Duration drain_timeout;
  // Threads running handler bodies (they may wait on a group commit).
  int handler_threads = 64;
  // Server streams open at once (each holds a thread while its client
  // listens).
  int max_streams = 1024;
  // Of those, held by one caller (token subject).
  int max_streams_per_caller = 64;
  // gRPC server reflection on the main port. The reflection service is not
  // behind the method guard (it names methods, never data), so a deployment
  // that must not describe its API to callers without a token turns it off.
  bool reflection = true;
  // The largest request this server reads. gRPC reads a whole message before
  // any handler (or the token check) runs, so this bounds what an
  // unauthenticated caller can make it hold: 4 MiB, and 64 MiB for the
  // registry, whose ImportDeployment carries a whole deployment.
  int max_request_bytes = 4 << 20;
  // Signed checkpoints: after this many events or this long with new ones.
  absl::Duration checkpoint_every = absl::Seconds(10);
  int checkpoint_every_events = 1000;
};

// Sets Wangge's flags from the environment, then parses the command line.
// Returns the positional arguments (argv[0] first).
std::vector<char*> ParseFlags(int argc, char** argv);

// Applies only the environment overrides (ParseFlags calls it).
void ApplyEnvironmentOverrides();

// Reads the flags into a config for `service` and validates it: bad values
// fail start-up with a clear error instead of degrading later.
absl::StatusOr<ServiceConfig> LoadServiceConfig(const std::string& service);

// The services whose events `service` follows (their topics, their ReadLog):
// the one table of who reads whose log. ServiceMain follows no other, and
// a log is served to no other service.
const std::vector<std::string>& SourcesOf(const std::string& service);

// The resolved configuration as "name=value ..." (no secrets: key material
// is only ever named by its file).
std::string Describe(const ServiceConfig& config);

// Every Wangge flag and its current value, for the start-up log line.
std::map<std::string, std::string> ResolvedFlags();

}  // namespace wangge::config

#endif  // WANGGE_SERVICES_COMMON_CONFIG_CONFIG_H_
