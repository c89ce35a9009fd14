#include "services/common/server/service_main.h"

#include <malloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "prometheus/gauge.h"
#include "services/common/auth/token.h"
#include "services/common/config/config.h"
#include "services/common/eventbus/readlog_client.h"
#include "services/common/eventlog/eventlog_service.h"
#include "services/common/files/files.h"
#include "services/common/log/log.h"
#include "services/common/server/channel.h"
#include "services/common/status/status_macros.h"

namespace wangge::server {

const Clock* ServiceClock(const config::ServiceConfig& config) {
  if (config.dev_clock_offset_file.empty()) return Clock::Real();
  static const Clock* const offset =
      new OffsetFileClock(config.dev_clock_offset_file);
  return offset;
}

absl::StatusOr<eventstore::Options> StoreOptions(
    const config::ServiceConfig& config) {
  if (config.data_dir.empty()) {
    return absl::InvalidArgumentError("--data_dir is required");
  }
  ::mkdir(config.data_dir.c_str(), 0750);
  eventstore::Options o;
  o.service = config.service;
  o.path = config.data_dir + "/store";
  o.partitions = config.partitions;
  o.clock = ServiceClock(config);
  o.checkpoint_every = config.checkpoint_every;
  o.checkpoint_every_events =
      static_cast<uint64_t>(config.checkpoint_every_events);
  o.durability = config.durability == "async" ? eventstore::Durability::kAsync
                                              : eventstore::Durability::kSync;
  const bool guomi = config.crypto_suite == "guomi";
  o.hash_algorithm = guomi ? common::v1::HASH_ALGORITHM_SM3
                           : common::v1::HASH_ALGORITHM_SHA256;
  std::string key_file = config.signing_key_file;
  std::string key_id = config.signing_key_id.empty()
                           ? absl::StrCat(config.service, "-1")
                           : config.signing_key_id;
  if (key_file.empty()) {
    key_file = config.data_dir + "/signing-key.pem";
    if (!ReadFileToString(key_file).ok()) {
      auto generated = crypto::Signer::Generate(
          guomi ? common::v1::SIGNATURE_ALGORITHM_SM2
                : common::v1::SIGNATURE_ALGORITHM_ED25519,
          key_id);
      if (!generated.ok()) return generated.status();
      absl::Status s = files::WriteFileAtomically(
          key_file, (*generated)->PrivateKeyPem(), 0600);
      if (!s.ok()) return s;
      s = files::WriteFileAtomically(config.data_dir + "/signing-key.pub.pem",
                                     (*generated)->PublicKeyPem(), 0644);
      if (!s.ok()) return s;
      log::Warning("no --signing_key_file: generated a checkpoint key",
                   {{"key_file", key_file}, {"key_id", key_id}});
    }
  }
  auto pem = ReadFileToString(key_file);
  if (!pem.ok()) return pem.status();
  auto signer = crypto::Signer::FromPem(*pem, key_id);
  if (!signer.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "signing_key_file ", key_file, ": ", signer.status().message()));
  }
  if (guomi !=
      ((*signer)->algorithm() == common::v1::SIGNATURE_ALGORITHM_SM2)) {
    return absl::InvalidArgumentError(
        "signing key does not match --crypto_suite (standard: Ed25519, guomi: "
        "SM2)");
  }
  o.signer = std::move(*signer);
  return o;
}

absl::StatusOr<std::string> ServiceToken(const config::ServiceConfig& config) {
  if (!config.service_token_file.empty()) {
    auto token = ReadFileToString(config.service_token_file);
    if (!token.ok()) return token.status();
    return std::string(absl::StripAsciiWhitespace(*token));
  }
  if (config.auth.algorithm != "HS256") {
    return absl::FailedPreconditionError(
        "--service_token_file is required outside development (HS256)");
  }
  auto key = ReadFileToString(config.auth.key_file);
  if (!key.ok()) return key.status();
  auto role = auth::ParseRole(absl::StrCat("service_", config.service));
  if (!role.ok()) return role.status();
  auth::Claims claims;
  claims.subject = config.service;
  claims.role = *role;
  claims.audience = config.auth.audience;
  claims.expiry = absl::Now() + absl::Hours(24 * 365);
  claims.scopes = {"*"};
  log::Warning("no --service_token_file: minted a development service token");
  return auth::MintToken(claims, "HS256", *key);
}

namespace {

// Where the service's Kafka is, for its relay and its consumers alike.
eventbus::KafkaEndpoint KafkaEndpointOf(const config::ServiceConfig& config) {
  eventbus::KafkaEndpoint kafka;
  kafka.bootstrap = config.kafka_bootstrap;
  kafka.bootstrap_file = config.kafka_bootstrap_file;
  kafka.ca_file = config.kafka_ca_file;
  kafka.cert_file = config.kafka_cert_file;
  kafka.key_file = config.kafka_key_file;
  return kafka;
}

}  // namespace

absl::Status FollowAll(ServiceContext& context, std::vector<Source> sources,
                       std::vector<std::shared_ptr<eventbus::Consumer>> also) {
  for (auto& source : sources) {
    auto follower =
        FollowSource(context, source.name, std::move(source.handler),
                     std::move(source.after_apply));
    if (!follower.ok()) return follower.status();
    also.push_back(*std::move(follower));
  }
  ReadyWhenCaughtUp(context, std::move(also));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<eventbus::Consumer>> FollowSource(
    ServiceContext& context, const std::string& source,
    eventbus::Handler handler,
    std::function<void(const wangge::common::v1::EventEnvelope&)> after_apply) {
  const auto& config = context.chassis->config();
  // The table the source's ReadLog serves by (it refuses anyone else).
  const auto& sources = config::SourcesOf(config.service);
  if (std::find(sources.begin(), sources.end(), source) == sources.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(config.service, " follows ", source,
                     ", which config::SourcesOf does not list"));
  }
  auto peer = config.peers.find(source);
  if (peer == config.peers.end() || peer->second.empty()) {
    log::Warning(absl::StrCat("no --", source, "_addr: ", config.service,
                              " does not follow ", source));
    return std::shared_ptr<eventbus::Consumer>();
  }
  ASSIGN_OR_RETURN(std::string token, ServiceToken(config));
  ASSIGN_OR_RETURN(auto channel, MakeChannel(peer->second, config.tls));
  eventbus::ConsumerOptions options;
  options.source = source;
  options.kafka = KafkaEndpointOf(config);
  options.partitions = config.partitions;
  options.fetch_wait = config.kafka_fetch_wait;
  options.read_log = eventbus::MakeReadLogFn(channel, token);
  options.read_heads = eventbus::MakeReadHeadsFn(channel, token);
  options.metrics = &context.chassis->metrics().registry();
  options.after_apply = std::move(after_apply);
  auto consumer = std::make_shared<eventbus::Consumer>(
      context.store, std::move(options), std::move(handler));
  RETURN_IF_ERROR(consumer->Start());
  context.chassis->AddShutdownHook([consumer] { consumer->Stop(); });
  return consumer;
}

void ReadyWhenCaughtUp(
    ServiceContext& context,
    std::vector<std::shared_ptr<eventbus::Consumer>> followers) {
  context.ready_when = [followers = std::move(followers)] {
    for (const auto& f : followers)
      if (f && !f->caught_up()) return false;
    return true;
  };
}

int ServiceMain(int argc, char** argv, const std::string& service,
                const std::function<absl::Status(ServiceContext&)>& setup) {
  // Two malloc arenas rather than glibc's eight per core (sixteen here):
  // at ~0.9 M cases intake's sixteen arenas had 288 MB mapped for 152 MB in
  // use, and a trim gave back only 27 MB (docs/benchmarks.md, load). Set
  // before any thread starts, so every thread shares these two.
  ::mallopt(M_ARENA_MAX, 2);
  // Files the service creates (its store, its keys) are not world-readable.
  ::umask(027);
  Chassis::InstallSignalHandlers();
  config::ParseFlags(argc, argv);
  log::SetService(service);
  auto config = config::LoadServiceConfig(service);
  if (!config.ok()) {
    log::Error("bad configuration",
               {{"error", std::string(config.status().message())}});
    return 2;
  }
  auto options = StoreOptions(*config);
  if (!options.ok()) {
    log::Error("bad configuration",
               {{"error", std::string(options.status().message())}});
    return 2;
  }
  auto store = eventstore::EventStore::Open(*options);
  if (!store.ok()) {
    log::Error("cannot open the event store",
               {{"error", store.status().ToString()}});
    return 1;
  }
  std::unique_ptr<eventbus::Relay> relay;
  if (!config->kafka_bootstrap.empty() ||
      !config->kafka_bootstrap_file.empty()) {
    eventbus::RelayOptions ro;
    ro.kafka = KafkaEndpointOf(*config);
    relay = std::make_unique<eventbus::Relay>(store->get(), ro);
  } else {
    log::Warning(
        "no Kafka configured: events stay in the store (ReadLog only)");
  }
  std::vector<std::string> projections;
  {
    Chassis chassis(*config, Clock::Real());
    if (relay) relay->SetMetrics(&chassis.metrics().registry());
    if (relay && config->durability == "ack_after_kafka") {
      // A command's answer waits this long for Kafka's confirmation of its
      // positions, then is UNAVAILABLE (its effects are made; a retry with
      // its request id gets the first answer, once Kafka has it).
      chassis.SetAcknowledgementGate(
          [r = relay.get()](
              const std::vector<wangge::common::v1::Position>& positions) {
            return r->WaitDelivered(positions, absl::Now() + absl::Seconds(5));
          });
    }
    if (!config->dev_clock_offset_file.empty()) {
      log::Warning("the clock is offset by a file: development and tests only",
                   {{"file", config->dev_clock_offset_file}});
    }
    ServiceContext context{&chassis,     store->get(), relay.get(),
                           &projections, {},           ServiceClock(*config)};
    absl::Status s = chassis.Init();
    if (s.ok()) s = setup(context);
    // After setup, which names the service's projections.
    eventlog::EventLogService eventlog(&chassis, store->get(), projections);
    if (s.ok()) s = chassis.Register<common::v1::EventLog>(&eventlog);
    if (s.ok() && relay) s = relay->Start();
    if (s.ok()) s = chassis.Start();
    if (!s.ok()) {
      log::Error("start-up failed", {{"error", s.ToString()}});
      if (relay) {  // it may run already; the registry goes with the chassis
        relay->SetMetrics(nullptr);
        relay->Stop(absl::Seconds(1));
      }
      return 1;
    }
    std::atomic<bool> stop_readiness{false};
    // glibc keeps memory freed after a burst (a republish of the whole log,
    // a catch-up) in its arenas: after a million-case republish a service
    // held ~470 MB it no longer used. Handing it back every 30 s keeps the
    // resident size at what is live.
    // The store's memory by kind, refreshed with it.
    auto& store_memory = prometheus::BuildGauge()
                             .Name("wangge_store_memory_bytes")
                             .Help("Memory RocksDB holds, by kind")
                             .Register(chassis.metrics().registry());
    eventstore::EventStore* const the_store = store->get();
    std::thread trimmer([&] {
      for (int tick = 0; !stop_readiness; ++tick) {
        absl::SleepFor(absl::Milliseconds(200));
        if (the_store->fsync_failed()) {
          // Nothing more can be acknowledged; RocksDB recovers from what is
          // on disk at the next start (the orchestrator restarts us).
          log::Error("the event store's WAL fsync failed: exiting");
          std::_Exit(70);
        }
        if (tick % 150 != 149) continue;
        ::malloc_trim(0);
        for (const auto& [kind, bytes] : the_store->MemoryUsage()) {
          store_memory.Add({{"kind", kind}}).Set(static_cast<double>(bytes));
        }
      }
    });
    std::thread readiness;
    if (context.ready_when) {
      readiness = std::thread([&] {
        while (!stop_readiness) {
          chassis.SetReady(context.ready_when());
          absl::SleepFor(absl::Milliseconds(200));
        }
      });
    } else {
      chassis.SetReady(true);
    }
    // Machine-readable lines for scripts and end-to-end tests (the health
    // port's first: "listening" is the last line they wait for).
    if (chassis.health_port() > 0) {
      std::printf("health port %d\n", chassis.health_port());
    }
    std::printf("listening %s\n", chassis.address().c_str());
    std::fflush(stdout);
    chassis.WaitForShutdownSignal();
    stop_readiness = true;
    if (readiness.joinable()) readiness.join();
    trimmer.join();
    // The relay runs on below; the chassis' metrics registry does not.
    if (relay) relay->SetMetrics(nullptr);
  }
  // After the server drained: publish what is left, then close the store.
  if (relay) relay->Stop(absl::Seconds(5));
  store->reset();  // last: flushes and closes RocksDB
  log::Info("store closed");
  return 0;
}

}  // namespace wangge::server
