// audit: verifies, exports and compares Wangge's event history without
// trusting the services (issue #7; first commands).
//
//   audit verify --addr=intake=127.0.0.1:7101,registry=127.0.0.1:7105
//       --public_keys=intake=intake.pub,registry=registry.pub
//       [--state=state.json] [--report=report.json]
//   audit verify --export_file=history.jsonl --public_keys=...
//   audit verify --kafka_topics=intake,dispatch --kafka_bootstrap=host:9093
//       [--kafka_ca_file=... --kafka_cert_file=... --kafka_key_file=...]
//       --public_keys=...   (the topics from their beginning)
//   audit compare --addr=... --export_file=...|--kafka_topics=...
//   audit export --addr=intake=127.0.0.1:7101 > history.jsonl
//   audit receipt --addr=intake=... --case_id=C20240719-ABCDEFGH > receipt.json
//   audit check-receipt --receipt=receipt.json --public_keys=intake=intake.pub
//   (--public_keys=intake=new.pub+old.pub: a service's keys across a
//   rotation; a checkpoint verifies with either)
//   audit prove --addr=dispatch=... --partition=2 --sequence=17
//       --public_keys=dispatch=dispatch.pub [--receipt=proof.json]
//   audit consistency --addr=intake=... --partition=3 --saved=checkpoint.pb
//       --public_keys=intake=intake.pub  (saves the newer one over it)
//   audit replay --addr=intake=...,registry=...  (rebuilds projections from
//       history and compares them with GetStateDigest; exit 1 on mismatch)
//   audit replay --addr=... --as_of=2026-11-22T08:00:00Z [--state_out=f.json]
//       (the state at that moment, from history alone)
//   audit timeline --addr=...|--export_file=... --case_id=C...
//   audit evaluation --addr=registry=...,supervision=...,dispatch=...
//       --area=110101 --from=2026-11-01T00:00:00Z --to=2026-12-01T00:00:00Z
//       [--as_of=...] [--csv=figures.csv] [--compare_live]
//   [--report=t.json]
//
// verify also checks the separation rules over all the services given
// (separation.h: closes after passing checks by an unconflicted supervisor,
// dispatches after filings, from the command centre, ...).
//
// verify exits 0 when every partition verifies, 1 on any violation, 2 on
// bad usage or an unreachable source. --state keeps the last checkpoint of
// every partition; the next run checks the log still extends it.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "nlohmann/json.hpp"
#include "services/audit/compare.h"
#include "services/audit/deadlines.h"
#include "services/audit/evaluation_replay.h"
#include "services/audit/export_format.h"
#include "services/audit/kafka_source.h"
#include "services/audit/receipt.h"
#include "services/audit/replay.h"
#include "services/audit/separation.h"
#include "services/audit/timeline.h"
#include "services/audit/verifier.h"
#include "services/common/auth/token.h"
#include "services/common/clock/proto_time.h"
#include "services/common/files/files.h"
#include "services/common/merkle/merkle.h"
#include "services/common/server/channel.h"
#include "wangge/common/v1/eventlog.grpc.pb.h"
#include "wangge/supervision/v1/supervision.grpc.pb.h"

ABSL_FLAG(std::string, addr, "", "service=host:port,... (EventLog sources)");
ABSL_FLAG(std::string, export_file, "",
          "An export (JSON Lines) instead of --addr");
ABSL_FLAG(std::string, area, "", "evaluation: the area (scope)");
ABSL_FLAG(std::string, from, "", "evaluation: RFC 3339 start of the window");
ABSL_FLAG(std::string, to, "", "evaluation: RFC 3339 end (exclusive)");
ABSL_FLAG(std::string, evaluation_file, "",
          "evaluation: the weights file supervision runs with (default "
          "weights when unset)");
ABSL_FLAG(std::string, csv, "", "evaluation: also write the figures as CSV");
ABSL_FLAG(bool, compare_live, false,
          "evaluation: compare with supervision's GetEvaluation");
ABSL_FLAG(std::string, tls_ca_file, "",
          "TLS to the services: the CA that signs their certificates "
          "(plaintext when unset)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "TLS: the auditor's client certificate (services requiring mTLS)");
ABSL_FLAG(std::string, tls_key_file, "", "TLS: its private key");
ABSL_FLAG(std::string, kafka_topics, "",
          "Source: these services' Kafka topics from the beginning "
          "(comma-separated service names)");
ABSL_FLAG(std::string, kafka_bootstrap, "", "Kafka bootstrap servers");
ABSL_FLAG(std::string, kafka_bootstrap_file, "",
          "A file holding the bootstrap servers (the dev broker's)");
ABSL_FLAG(std::string, kafka_ca_file, "", "Kafka TLS: the cluster CA");
ABSL_FLAG(std::string, kafka_cert_file, "",
          "Kafka TLS: the auditor user's certificate");
ABSL_FLAG(std::string, kafka_key_file, "", "Kafka TLS: its private key");
ABSL_FLAG(std::string, public_keys, "",
          "service=public.pem,... (checkpoint keys)");
ABSL_FLAG(std::string, crypto_suite, "standard",
          "standard (SHA-256) or guomi (SM3)");
ABSL_FLAG(std::string, state, "", "File keeping the last checkpoints seen");
ABSL_FLAG(uint64_t, max_unsigned_events, 2000,
          "verify: events allowed after a partition's last signed checkpoint "
          "(services sign every --checkpoint_every_events, 1000, or 10 s); "
          "more is a violation (checkpoints removed). 0: not checked");
ABSL_FLAG(std::string, report, "",
          "Write the JSON report here (default: stdout)");
ABSL_FLAG(std::string, token, "", "Auditor bearer token");
ABSL_FLAG(std::string, token_file, "",
          "A file holding the auditor bearer token (kept off the command "
          "line, which other processes can read)");
ABSL_FLAG(std::string, key_file, "", "HS256 development secret to mint one");
ABSL_FLAG(std::string, case_id, "", "receipt, timeline: the case (report)");
ABSL_FLAG(std::string, receipt, "",
          "check-receipt: the receipt file; prove: where to keep the proof");
ABSL_FLAG(int, partition, 0, "consistency, prove: the partition");
ABSL_FLAG(uint64_t, sequence, 0, "prove: the event's sequence (1-based)");
ABSL_FLAG(std::string, saved, "", "consistency: a checkpoint saved earlier");
ABSL_FLAG(std::string, as_of, "",
          "replay: rebuild the state at this moment (RFC 3339) instead of "
          "comparing with now");
ABSL_FLAG(std::string, state_out, "",
          "replay: write the rebuilt state (JSON) here");

namespace {

using namespace wangge;

std::map<std::string, std::string> Pairs(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

std::string Token() {
  if (!absl::GetFlag(FLAGS_token).empty()) return absl::GetFlag(FLAGS_token);
  if (!absl::GetFlag(FLAGS_token_file).empty()) {
    auto token = files::ReadFileToString(absl::GetFlag(FLAGS_token_file));
    if (!token.ok()) {
      std::fprintf(stderr, "audit: --token_file: %s\n",
                   std::string(token.status().message()).c_str());
      std::exit(2);
    }
    return std::string(absl::StripAsciiWhitespace(*token));
  }
  auto key = files::ReadFileToString(absl::GetFlag(FLAGS_key_file));
  if (!key.ok()) return "";
  auth::Claims c;
  c.subject = "audit";
  c.role = common::v1::ROLE_AUDITOR;
  c.audience = "wangge";
  c.expiry = absl::Now() + absl::Hours(1);
  c.scopes = {"*"};
  auto t = auth::MintToken(c, "HS256", *key);
  return t.ok() ? *t : "";
}

common::v1::HashAlgorithm HashAlgorithmFlag() {
  return absl::GetFlag(FLAGS_crypto_suite) == "guomi"
             ? common::v1::HASH_ALGORITHM_SM3
             : common::v1::HASH_ALGORITHM_SHA256;
}

// Plaintext, or TLS (the services' CA; with a client certificate where the
// services require one, as in production).
// One per address: its TLS files are read, and watched, once.
std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
  static auto* const channels =
      new std::map<std::string, std::shared_ptr<grpc::Channel>>();
  auto& channel = (*channels)[address];
  if (!channel) {
    channel = server::ToolChannelOrExit(
        "audit", address, absl::GetFlag(FLAGS_tls_ca_file),
        absl::GetFlag(FLAGS_tls_cert_file), absl::GetFlag(FLAGS_tls_key_file));
  }
  return channel;
}

std::unique_ptr<common::v1::EventLog::Stub> EventLogStub(
    const std::string& address) {
  return common::v1::EventLog::NewStub(Channel(address));
}

// Every call carries the auditor's bearer token.
void Authorize(grpc::ClientContext& ctx, const std::string& token = Token()) {
  ctx.AddMetadata("authorization", "Bearer " + token);
}

// Streams the events [from, to] of one partition (ReadLog) to `fn`.
grpc::Status ReadRange(
    common::v1::EventLog::Stub& stub, const std::string& token, uint32_t p,
    uint64_t from, uint64_t to,
    const std::function<void(const common::v1::StoredEvent&)>& fn) {
  grpc::ClientContext ctx;
  Authorize(ctx, token);
  common::v1::ReadLogRequest request;
  request.set_partition(p);
  request.set_from_sequence(from);
  request.set_to_sequence(to);
  auto reader = stub.ReadLog(&ctx, request);
  common::v1::ReadLogResponse batch;
  while (reader->Read(&batch)) {
    for (const auto& e : batch.events()) fn(e);
  }
  return reader->Finish();
}

// Streams every event of every partition of one service to `fn`.
// Reads every partition up to its head, or up to `upto` (partition ->
// sequence) when given.
bool ReadService(
    const std::string& service, const std::string& address,
    const std::function<void(uint32_t, const common::v1::StoredEvent&)>& fn,
    const std::map<uint32_t, uint64_t>* upto = nullptr) {
  auto stub = EventLogStub(address);
  const std::string token = Token();
  grpc::ClientContext hctx;
  Authorize(hctx, token);
  common::v1::GetLogHeadsResponse heads;
  grpc::Status s = stub->GetLogHeads(&hctx, {}, &heads);
  if (!s.ok()) {
    std::fprintf(stderr, "audit: %s at %s: %s\n", service.c_str(),
                 address.c_str(), s.error_message().c_str());
    return false;
  }
  for (int p = 0; p < heads.heads_size(); ++p) {
    uint64_t last = heads.heads(p);
    if (upto != nullptr) {
      auto it = upto->find(p);
      last = it == upto->end() ? 0 : std::min(last, it->second);
    }
    if (last == 0) continue;
    if (!ReadRange(*stub, token, p, 1, last,
                   [&](const common::v1::StoredEvent& e) { fn(p, e); })
             .ok()) {
      return false;
    }
  }
  return true;
}

using SourceFn = std::function<void(const std::string&, uint32_t,
                                    const common::v1::StoredEvent&)>;

// Every event of an export file, in file order.
bool ReadExportFile(const std::string& path, const SourceFn& fn) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  uint64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto e = audit::ParseExportLine(line);
    if (!e.ok()) {
      std::fprintf(stderr, "audit: line %llu: %s\n",
                   static_cast<unsigned long long>(n),
                   std::string(e.status().message()).c_str());
      return false;
    }
    fn(e->service, e->partition, e->event);
  }
  return true;
}

// Every event of the --kafka_topics, each topic from its beginning.
bool ReadKafkaTopics(const SourceFn& fn) {
  eventbus::KafkaEndpoint kafka;
  kafka.bootstrap = absl::GetFlag(FLAGS_kafka_bootstrap);
  kafka.bootstrap_file = absl::GetFlag(FLAGS_kafka_bootstrap_file);
  kafka.ca_file = absl::GetFlag(FLAGS_kafka_ca_file);
  kafka.cert_file = absl::GetFlag(FLAGS_kafka_cert_file);
  kafka.key_file = absl::GetFlag(FLAGS_kafka_key_file);
  for (absl::string_view service : absl::StrSplit(
           absl::GetFlag(FLAGS_kafka_topics), ',', absl::SkipEmpty())) {
    absl::Status s = audit::ReadTopic(
        kafka, std::string(service),
        [&, name = std::string(service)](
            uint32_t p, const common::v1::StoredEvent& e) { fn(name, p, e); });
    if (!s.ok()) {
      std::fprintf(stderr, "audit: %s\n", s.ToString().c_str());
      return false;
    }
  }
  return true;
}

// Every event of the sources: --export_file, --kafka_topics, or each
// --addr's ReadLog.
bool ForEachSourceEvent(const SourceFn& fn) {
  if (!absl::GetFlag(FLAGS_export_file).empty()) {
    return ReadExportFile(absl::GetFlag(FLAGS_export_file), fn);
  }
  if (!absl::GetFlag(FLAGS_kafka_topics).empty()) return ReadKafkaTopics(fn);
  for (const auto& [service, address] : Pairs(absl::GetFlag(FLAGS_addr))) {
    if (!ReadService(
            service, address,
            [&, s = service](uint32_t p, const common::v1::StoredEvent& e) {
              fn(s, p, e);
            })) {
      return false;
    }
  }
  return true;
}

// The live services (--addr) and an export (--export_file) compared event
// by event; every difference is listed with its position.
int CompareSources() {
  if (absl::GetFlag(FLAGS_addr).empty() ||
      absl::GetFlag(FLAGS_export_file).empty() ==
          absl::GetFlag(FLAGS_kafka_topics).empty()) {
    std::fprintf(stderr,
                 "audit: compare needs --addr and one of --export_file, "
                 "--kafka_topics\n");
    return 2;
  }
  audit::SourceComparer comparer;
  for (const auto& [service, address] : Pairs(absl::GetFlag(FLAGS_addr))) {
    if (!ReadService(
            service, address,
            [&, s = service](uint32_t p, const common::v1::StoredEvent& e) {
              comparer.AddLeft(s, p, e);
            })) {
      return 2;
    }
  }
  const SourceFn right = [&](const std::string& service, uint32_t p,
                             const common::v1::StoredEvent& e) {
    comparer.AddRight(service, p, e);
  };
  if (!(absl::GetFlag(FLAGS_export_file).empty()
            ? ReadKafkaTopics(right)
            : ReadExportFile(absl::GetFlag(FLAGS_export_file), right))) {
    return 2;
  }
  // The export may be older than the live read: what the services wrote
  // since is counted, not listed (a missing tail is verify's job, against a
  // saved checkpoint).
  const auto differences = comparer.Finish(/*right_may_be_older=*/true);
  nlohmann::json report = {{"live_events", comparer.left_events()},
                           {"export_events", comparer.right_events()},
                           {"newer_live_events", comparer.newer_left()},
                           {"differences", nlohmann::json::array()}};
  for (const auto& d : differences) {
    report["differences"].push_back(
        {{"service", d.service},
         {"partition", d.partition},
         {"sequence", d.sequence},
         {"what", absl::StrReplaceAll(
                      d.what, {{"left", "live"}, {"right", "export"}})}});
  }
  std::printf("%s\n", report.dump(2).c_str());
  return differences.empty() ? 0 : 1;
}

// The hash checks of `verify` (leaf hash, chain, gapless sequences, claimed
// positions, ownership) on what a command that computes from history reads:
// a state, timeline or evaluation computed from an altered log proves
// nothing, so an altered log stops it, naming the position. Signatures are
// `verify`'s (it takes the public keys).
class ChainCheck {
 public:
  ChainCheck() : hasher_(HashAlgorithmFlag()) {}
  // Checks `e` and parses its record into `env`; false if it does not parse.
  bool Add(const std::string& service, uint32_t partition,
           const common::v1::StoredEvent& e, common::v1::EventEnvelope* env) {
    auto& chain = chains_[{service, partition}];
    if (!chain) {
      chain = std::make_unique<audit::PartitionVerifier>(service, partition,
                                                         &hasher_, nullptr);
    }
    if (!env->ParseFromString(e.record())) {
      chain->Add(e);
      return false;
    }
    chain->Add(e, env);
    return true;
  }
  // DATA_LOSS naming the first position that failed a check.
  absl::Status Finish() {
    for (auto& [id, chain] : chains_) {
      for (const auto& v : chain->Finish().violations) {
        if (v.check == "signature" || v.check == "unsigned") continue;
        return absl::DataLossError(absl::StrCat(
            id.first, "/", id.second, " at ", v.sequence, ": ", v.check, ": ",
            v.message, " (the log is not what was written; see audit verify)"));
      }
    }
    return absl::OkStatus();
  }

 private:
  const crypto::Hasher hasher_;
  std::map<std::pair<std::string, uint32_t>,
           std::unique_ptr<audit::PartitionVerifier>>
      chains_;
};

// The whole life of one case across every source, with actors and times.
int Timeline() {
  if (absl::GetFlag(FLAGS_case_id).empty()) {
    std::fprintf(stderr, "audit: timeline needs --case_id\n");
    return 2;
  }
  audit::CaseTimeline timeline(absl::GetFlag(FLAGS_case_id));
  ChainCheck chains;
  if (!ForEachSourceEvent([&](const std::string& service, uint32_t p,
                              const common::v1::StoredEvent& e) {
        common::v1::EventEnvelope env;
        if (chains.Add(service, p, e, &env)) timeline.Add(service, p, env);
      })) {
    return 2;
  }
  if (absl::Status s = chains.Finish(); !s.ok()) {
    std::fprintf(stderr, "audit: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  const auto entries = timeline.Finish();
  if (entries.empty()) {
    std::fprintf(stderr, "audit: no events for case %s\n",
                 absl::GetFlag(FLAGS_case_id).c_str());
    return 1;
  }
  std::printf("%s", audit::TimelineText(entries).c_str());
  if (!absl::GetFlag(FLAGS_report).empty()) {
    return files::WriteFileAtomically(absl::GetFlag(FLAGS_report),
                                      audit::TimelineJson(entries))
                   .ok()
               ? 0
               : 2;
  }
  return 0;
}

// The service's public keys in --public_keys (service=a.pem+b.pem: the keys
// before and after a rotation); empty, with the reason printed, when one
// cannot be read.
std::vector<std::unique_ptr<crypto::Verifier>> KeysOf(
    const std::string& service) {
  std::vector<std::unique_ptr<crypto::Verifier>> keys;
  const std::string files = Pairs(absl::GetFlag(FLAGS_public_keys))[service];
  for (absl::string_view file : absl::StrSplit(files, '+', absl::SkipEmpty())) {
    auto pem = files::ReadFileToString(std::string(file));
    auto v = pem.ok() ? crypto::Verifier::FromPem(*pem) : pem.status();
    if (!v.ok()) {
      std::fprintf(stderr, "audit: public key of %s: %s\n", service.c_str(),
                   std::string(v.status().message()).c_str());
      return {};
    }
    keys.push_back(std::move(*v));
  }
  return keys;
}

bool AnyKeyVerifies(const std::vector<std::unique_ptr<crypto::Verifier>>& keys,
                    const common::v1::Checkpoint& c) {
  return std::any_of(keys.begin(), keys.end(), [&](const auto& key) {
    return crypto::VerifyCheckpoint(*key, c).ok();
  });
}

// A receipt checks with one of the keys (the first refusal otherwise).
absl::Status CheckReceiptWithAny(
    const audit::Receipt& receipt,
    const std::vector<std::unique_ptr<crypto::Verifier>>& keys) {
  absl::Status first = absl::NotFoundError("no public key");
  for (const auto& key : keys) {
    absl::Status s = audit::CheckReceipt(receipt, *key);
    if (s.ok()) return s;
    if (first.code() == absl::StatusCode::kNotFound) first = s;
  }
  return first;
}

int Verify() {
  const crypto::Hasher hasher(HashAlgorithmFlag());
  std::map<std::string, std::vector<std::unique_ptr<crypto::Verifier>>> keys;
  for (const auto& [service, files] : Pairs(absl::GetFlag(FLAGS_public_keys))) {
    keys[service] = KeysOf(service);
    if (keys[service].empty()) return 2;
  }
  // Checkpoints saved by the previous run.
  nlohmann::json state = nlohmann::json::object();
  if (!absl::GetFlag(FLAGS_state).empty()) {
    auto text = files::ReadFileToString(absl::GetFlag(FLAGS_state));
    // None yet: the first run. One that does not read is not overwritten
    // (it is what proves the logs did not fork since).
    if (text.ok()) {
      state = nlohmann::json::parse(*text, nullptr, false);
      if (state.is_discarded() || !state.is_object()) {
        std::fprintf(stderr, "audit: the state file %s does not parse\n",
                     absl::GetFlag(FLAGS_state).c_str());
        return 2;
      }
    } else if (text.status().code() != absl::StatusCode::kNotFound) {
      std::fprintf(stderr, "audit: cannot read the state file: %s\n",
                   text.status().ToString().c_str());
      return 2;
    }
  }
  std::map<std::pair<std::string, uint32_t>,
           std::unique_ptr<audit::PartitionVerifier>>
      verifiers;
  audit::SeparationChecker separation;
  audit::DeadlineChecker deadlines;
  auto feed = [&](const std::string& service, uint32_t p,
                  const common::v1::StoredEvent& e) {
    auto& v = verifiers[{service, p}];
    if (!v) {
      auto key = keys.find(service);
      std::vector<const crypto::Verifier*> ring;
      if (key != keys.end()) {
        for (const auto& k : key->second) ring.push_back(k.get());
      }
      v = std::make_unique<audit::PartitionVerifier>(service, p, &hasher,
                                                     std::move(ring));
      v->SetMaxUnsigned(absl::GetFlag(FLAGS_max_unsigned_events));
      const std::string id = absl::StrCat(service, "/", p);
      if (state.contains(id)) {
        common::v1::Checkpoint saved;
        saved.set_tree_size(state[id]["tree_size"].get<uint64_t>());
        saved.set_merkle_root(absl::HexStringToBytes(
            state[id]["merkle_root"].get<std::string>()));
        v->ExpectPrefix(saved);
      }
    }
    // Parsed once for the verifier and the invariants.
    common::v1::EventEnvelope envelope;
    if (!envelope.ParseFromString(e.record())) {
      v->Add(e);  // reports the record at its position
      return;
    }
    v->Add(e, &envelope);
    separation.Add(envelope);
    deadlines.Add(envelope);
  };
  if (!ForEachSourceEvent(feed)) return 2;
  // A partition an earlier run saw must not come back empty: the source
  // dropped it, or the log was emptied (nothing fed it, so nothing above
  // compared it with its saved checkpoint).
  std::set<std::string> audited;
  for (const auto& [service, address] : Pairs(absl::GetFlag(FLAGS_addr)))
    audited.insert(service);
  for (absl::string_view t : absl::StrSplit(absl::GetFlag(FLAGS_kafka_topics),
                                            ',', absl::SkipEmpty()))
    audited.insert(std::string(t));
  for (const auto& [id, v] : verifiers) audited.insert(id.first);
  for (const auto& [id, saved] : state.items()) {
    const std::pair<std::string, std::string> parts = absl::StrSplit(id, '/');
    uint32_t p = 0;
    if (!audited.count(parts.first) || !absl::SimpleAtoi(parts.second, &p) ||
        verifiers.count({parts.first, p})) {
      continue;
    }
    auto& v = verifiers[{parts.first, p}];
    v = std::make_unique<audit::PartitionVerifier>(parts.first, p, &hasher,
                                                   nullptr);
    common::v1::Checkpoint expected;
    expected.set_tree_size(saved.value("tree_size", uint64_t{0}));
    v->ExpectPrefix(expected);  // Finish reports the log as shorter
  }
  std::vector<audit::PartitionReport> reports;
  size_t violations = 0;
  for (auto& [id, v] : verifiers) {
    reports.push_back(v->Finish());
    violations += reports.back().violations.size();
  }
  // The separation rules and deadlines over the whole history, each at its
  // event.
  std::vector<audit::Violation> invariants = separation.Finish();
  for (auto& v : deadlines.Finish()) invariants.push_back(std::move(v));
  if (deadlines.missing_registry()) {
    std::fprintf(stderr,
                 "audit: deadlines not checked (they need both dispatch's "
                 "and the registry's logs)\n");
  }
  for (auto& violation : invariants) {
    auto r = std::find_if(reports.begin(), reports.end(), [&](const auto& r) {
      return r.service == violation.service &&
             r.partition == violation.partition;
    });
    if (r == reports.end()) {
      // At a log that sent nothing (an empty partition): counted all the
      // same, under a report of its own.
      audit::PartitionReport empty;
      empty.service = violation.service;
      empty.partition = violation.partition;
      reports.push_back(std::move(empty));
      r = std::prev(reports.end());
    }
    r->violations.push_back(violation);
    ++violations;
  }
  const std::string json = audit::ReportJson(reports);
  if (absl::GetFlag(FLAGS_report).empty()) {
    std::printf("%s\n", json.c_str());
  } else {
    std::ofstream(absl::GetFlag(FLAGS_report)) << json;
  }
  uint64_t events = 0;
  for (const auto& r : reports) events += r.events;
  std::fprintf(stderr, "audit: %zu partitions, %llu events, %zu violations\n",
               reports.size(), static_cast<unsigned long long>(events),
               violations);
  // A clean run saves the newest checkpoints for the next one.
  if (violations == 0 && !absl::GetFlag(FLAGS_state).empty()) {
    for (const auto& r : reports) {
      if (!r.last_checkpoint) continue;
      state[absl::StrCat(r.service, "/", r.partition)] = {
          {"tree_size", r.last_checkpoint->tree_size()},
          {"merkle_root",
           absl::BytesToHexString(r.last_checkpoint->merkle_root())}};
    }
    if (!files::WriteFileAtomically(absl::GetFlag(FLAGS_state), state.dump(2))
             .ok())
      return 2;
  }
  return violations == 0 ? 0 : 1;
}

int Export() {
  for (const auto& [service, address] : Pairs(absl::GetFlag(FLAGS_addr))) {
    if (!ReadService(service, address,
                     [&](uint32_t p, const common::v1::StoredEvent& e) {
                       std::printf("%s\n",
                                   audit::ExportLine(service, p, e).c_str());
                     })) {
      return 2;
    }
  }
  return 0;
}

// Completes a receipt for the event it names: the latest signed checkpoint
// of its partition and the inclusion proof against that tree; false (with
// the reason printed) when the service gives neither.
bool Prove(const std::string& address, audit::Receipt* receipt) {
  auto stub = EventLogStub(address);
  grpc::ClientContext cctx;
  Authorize(cctx);
  common::v1::GetCheckpointRequest creq;
  creq.set_partition(receipt->partition);
  grpc::Status s = stub->GetCheckpoint(&cctx, creq, &receipt->checkpoint);
  if (!s.ok() || receipt->checkpoint.tree_size() <= receipt->leaf_index) {
    std::fprintf(stderr, "audit: no checkpoint covers the event yet (%s)\n",
                 s.error_message().c_str());
    return false;
  }
  grpc::ClientContext pctx;
  Authorize(pctx);
  common::v1::GetInclusionProofRequest preq;
  preq.set_partition(receipt->partition);
  preq.set_leaf_index(receipt->leaf_index);
  preq.set_tree_size(receipt->checkpoint.tree_size());
  common::v1::InclusionProof proof;
  s = stub->GetInclusionProof(&pctx, preq, &proof);
  if (!s.ok()) {
    std::fprintf(stderr, "audit: no inclusion proof: %s\n",
                 s.error_message().c_str());
    return false;
  }
  receipt->proof.assign(proof.hashes().begin(), proof.hashes().end());
  return true;
}

// Finds the case's ReportReceived in intake's log and proves it against the
// latest signed checkpoint of its partition.
int MakeReceipt() {
  auto sources = Pairs(absl::GetFlag(FLAGS_addr));
  const std::string address = sources["intake"];
  const std::string stream = "case/" + absl::GetFlag(FLAGS_case_id);
  std::optional<audit::Receipt> receipt;
  if (!ReadService(
          "intake", address, [&](uint32_t p, const common::v1::StoredEvent& e) {
            common::v1::EventEnvelope env;
            if (!receipt && env.ParseFromString(e.record()) &&
                env.stream_id() == stream && env.stream_version() == 1) {
              receipt = audit::Receipt{
                  "intake", p, env.sequence() - 1, e.record(), e.leaf_hash(),
                  {},       {}};
            }
          })) {
    return 2;
  }
  if (!receipt) {
    std::fprintf(stderr, "audit: no report %s\n",
                 absl::GetFlag(FLAGS_case_id).c_str());
    return 1;
  }
  if (!Prove(address, &*receipt)) return 1;
  std::printf("%s\n", audit::ReceiptToJson(*receipt).c_str());
  return 0;
}

// Any event, by position: fetched from the service's log, proved against
// its latest signed checkpoint and checked at every step here (the service
// is not trusted); --receipt also keeps the proof for offline checks.
int ProveCommand() {
  auto sources = Pairs(absl::GetFlag(FLAGS_addr));
  const uint64_t sequence = absl::GetFlag(FLAGS_sequence);
  if (sources.size() != 1 || sequence == 0) {
    std::fprintf(stderr,
                 "usage: audit prove --addr=<service>=<address> "
                 "--partition=P --sequence=S --public_keys=<service>=<pem>\n");
    return 2;
  }
  const auto& [service, address] = *sources.begin();
  auto keys = KeysOf(service);
  if (keys.empty()) {
    std::fprintf(stderr, "audit: no public key for %s\n", service.c_str());
    return 2;
  }
  const uint32_t partition = absl::GetFlag(FLAGS_partition);
  audit::Receipt receipt{service, partition, sequence - 1, "", "", {}, {}};
  {
    grpc::Status s =
        ReadRange(*EventLogStub(address), Token(), partition, sequence,
                  sequence, [&](const common::v1::StoredEvent& e) {
                    receipt.record = e.record();
                    receipt.leaf_hash = e.leaf_hash();
                  });
    if (!s.ok() || receipt.record.empty()) {
      std::fprintf(stderr, "audit: no event %s/%u/%llu: %s\n", service.c_str(),
                   partition, static_cast<unsigned long long>(sequence),
                   s.error_message().c_str());
      return 1;
    }
  }
  if (!Prove(address, &receipt)) return 1;
  absl::Status s = CheckReceiptWithAny(receipt, keys);
  if (!absl::GetFlag(FLAGS_receipt).empty()) {
    std::ofstream(absl::GetFlag(FLAGS_receipt))
        << audit::ReceiptToJson(receipt) << "\n";
  }
  std::printf("%s/%u/%llu in the signed tree of size %llu: %s\n",
              service.c_str(), partition,
              static_cast<unsigned long long>(sequence),
              static_cast<unsigned long long>(receipt.checkpoint.tree_size()),
              s.ok() ? "proved" : std::string(s.message()).c_str());
  return s.ok() ? 0 : 1;
}

int CheckReceiptCommand() {
  auto text = files::ReadFileToString(absl::GetFlag(FLAGS_receipt));
  if (!text.ok()) return 2;
  auto receipt = audit::ReceiptFromJson(*text);
  if (!receipt.ok()) {
    std::fprintf(stderr, "audit: %s\n",
                 std::string(receipt.status().message()).c_str());
    return 1;
  }
  auto keys = KeysOf(receipt->service);
  if (keys.empty()) return 2;
  absl::Status s = CheckReceiptWithAny(*receipt, keys);
  std::printf("%s\n",
              s.ok() ? "receipt verifies" : std::string(s.message()).c_str());
  return s.ok() ? 0 : 1;
}

// A newer checkpoint extends a saved one: checked by proof (no history
// needed), both signatures checked; the newer one is saved in its place.
int Consistency() {
  auto sources = Pairs(absl::GetFlag(FLAGS_addr));
  if (sources.size() != 1) return 2;
  const auto& [service, address] = *sources.begin();
  auto keys = KeysOf(service);
  if (keys.empty()) return 2;
  const uint32_t partition = absl::GetFlag(FLAGS_partition);
  common::v1::Checkpoint saved;
  auto text = files::ReadFileToString(absl::GetFlag(FLAGS_saved));
  // None yet is the first run; one that does not read is not replaced.
  if (text.ok() && !saved.ParseFromString(*text)) {
    std::fprintf(stderr, "audit: the saved checkpoint does not parse\n");
    return 2;
  }
  const bool have_saved = text.ok();
  if (have_saved &&
      (saved.service() != service || saved.partition() != partition)) {
    std::printf("the saved checkpoint is for %s/%u, not %s/%u\n",
                saved.service().c_str(), saved.partition(), service.c_str(),
                partition);
    return 2;
  }
  auto stub = EventLogStub(address);
  grpc::ClientContext cctx;
  Authorize(cctx);
  common::v1::GetCheckpointRequest creq;
  creq.set_partition(partition);
  common::v1::Checkpoint latest;
  if (!stub->GetCheckpoint(&cctx, creq, &latest).ok()) return 2;
  // Signed, but for the log asked about? (A signature binds the fields; it
  // does not say they are the ones requested.)
  if (latest.service() != service || latest.partition() != partition) {
    std::printf("the service answered with the checkpoint of %s/%u\n",
                latest.service().c_str(), latest.partition());
    return 1;
  }
  if (!AnyKeyVerifies(keys, latest)) {
    std::printf("the latest checkpoint's signature does not verify\n");
    return 1;
  }
  if (have_saved) {
    if (!AnyKeyVerifies(keys, saved)) {
      std::printf("the saved checkpoint's signature does not verify\n");
      return 1;
    }
    grpc::ClientContext pctx;
    Authorize(pctx);
    common::v1::GetConsistencyProofRequest preq;
    preq.set_partition(latest.partition());
    preq.set_first_size(saved.tree_size());
    preq.set_second_size(latest.tree_size());
    common::v1::ConsistencyProof proof;
    if (!stub->GetConsistencyProof(&pctx, preq, &proof).ok()) return 2;
    const crypto::Hasher h(latest.hash_algorithm() ==
                                   common::v1::HASH_ALGORITHM_SM3
                               ? common::v1::HASH_ALGORITHM_SM3
                               : common::v1::HASH_ALGORITHM_SHA256);
    absl::Status s = merkle::VerifyConsistency(
        h, saved.tree_size(), latest.tree_size(), saved.merkle_root(),
        latest.merkle_root(),
        std::vector<std::string>(proof.hashes().begin(), proof.hashes().end()));
    if (!s.ok()) {
      std::printf("NOT consistent: %s\n", std::string(s.message()).c_str());
      return 1;
    }
    std::printf("consistent: tree %llu extends the saved tree %llu\n",
                static_cast<unsigned long long>(latest.tree_size()),
                static_cast<unsigned long long>(saved.tree_size()));
  } else {
    std::printf("no saved checkpoint: saving tree %llu\n",
                static_cast<unsigned long long>(latest.tree_size()));
  }
  return files::WriteFileAtomically(absl::GetFlag(FLAGS_saved),
                                    latest.SerializeAsString())
                 .ok()
             ? 0
             : 2;
}

// One service's history, up to `as_of` and (when given) up to `upto`'s
// sequences, through the replayer. UNAVAILABLE when the log cannot be read.
absl::StatusOr<audit::ReplayedState> ReplayService(
    const std::string& service, const std::string& address, absl::Time as_of,
    const std::map<uint32_t, uint64_t>* upto, uint64_t* events) {
  audit::Replayer replayer(service, as_of);
  absl::Status added = absl::OkStatus();
  ChainCheck chains;
  if (!ReadService(
          service, address,
          [&](uint32_t p, const common::v1::StoredEvent& e) {
            if (!added.ok()) return;
            common::v1::EventEnvelope env;
            if (!chains.Add(service, p, e, &env)) {
              added = absl::DataLossError(
                  absl::StrCat(service, "/", p, ": a record does not parse"));
              return;
            }
            added = replayer.Add(p, std::move(env));
          },
          upto)) {
    return absl::UnavailableError(absl::StrCat(service, ": log not read"));
  }
  if (!added.ok()) return added;
  if (absl::Status s = chains.Finish(); !s.ok()) return s;
  if (events != nullptr) *events = replayer.events();
  return replayer.Finish();
}

// The evaluation figures of --area for [--from, --to), replayed from the
// registry's, supervision's and dispatch's logs (up to --as_of); JSON, and
// CSV with --csv; --compare_live also asks supervision's GetEvaluation for
// the same window and fails on any difference.
int EvaluationCommand() {
  absl::Time from, to, as_of = absl::InfiniteFuture();
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_from), &from,
                       &error) ||
      !absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_to), &to,
                       &error) ||
      (!absl::GetFlag(FLAGS_as_of).empty() &&
       !absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_as_of), &as_of,
                        &error))) {
    std::fprintf(stderr, "audit: --from, --to, --as_of: %s\n", error.c_str());
    return 2;
  }
  supervision::EvaluationWeights weights;
  if (!absl::GetFlag(FLAGS_evaluation_file).empty()) {
    auto text = files::ReadFileToString(absl::GetFlag(FLAGS_evaluation_file));
    auto parsed =
        text.ok()
            ? supervision::ParseEvaluationWeights(*text)
            : absl::StatusOr<supervision::EvaluationWeights>(text.status());
    if (!parsed.ok()) {
      std::fprintf(stderr, "audit: --evaluation_file: %s\n",
                   parsed.status().ToString().c_str());
      return 2;
    }
    weights = *parsed;
  }
  audit::EvaluationReplay replay(as_of);
  ChainCheck chains;
  if (!ForEachSourceEvent([&](const std::string& service, uint32_t p,
                              const common::v1::StoredEvent& e) {
        common::v1::EventEnvelope env;
        if (chains.Add(service, p, e, &env)) replay.Add(env);
      })) {
    return 2;
  }
  if (absl::Status s = chains.Finish(); !s.ok()) {
    std::fprintf(stderr, "audit: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  auto evaluation =
      replay.Evaluate(weights, absl::GetFlag(FLAGS_area), from, to);
  if (!evaluation.ok()) {
    std::fprintf(stderr, "audit: %s\n", evaluation.status().ToString().c_str());
    return 2;
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(*evaluation, &json,
                                                    options);
  std::printf("%s\n", json.c_str());
  if (!absl::GetFlag(FLAGS_csv).empty() &&
      !files::WriteFileAtomically(absl::GetFlag(FLAGS_csv),
                                  audit::EvaluationCsv(*evaluation))
           .ok()) {
    return 2;
  }
  if (!absl::GetFlag(FLAGS_compare_live)) return 0;
  const std::string address = Pairs(absl::GetFlag(FLAGS_addr))["supervision"];
  if (address.empty()) {
    std::fprintf(stderr, "audit: --compare_live needs supervision in --addr\n");
    return 2;
  }
  auto stub = supervision::v1::SupervisionService::NewStub(Channel(address));
  grpc::ClientContext ctx;
  Authorize(ctx);
  supervision::v1::GetEvaluationRequest request;
  request.set_area_code(absl::GetFlag(FLAGS_area));
  *request.mutable_start_time() = ToProto(from);
  *request.mutable_end_time() = ToProto(to);
  supervision::v1::Evaluation live;
  grpc::Status s = stub->GetEvaluation(&ctx, request, &live);
  if (!s.ok()) {
    std::fprintf(stderr, "audit: live evaluation: %s\n",
                 s.error_message().c_str());
    return 2;
  }
  std::string difference;
  google::protobuf::util::MessageDifferencer differ;
  differ.set_float_comparison(
      google::protobuf::util::MessageDifferencer::APPROXIMATE);
  differ.set_repeated_field_comparison(
      google::protobuf::util::MessageDifferencer::AS_SET);
  differ.ReportDifferencesToString(&difference);
  if (!differ.Compare(live, *evaluation)) {
    std::fprintf(stderr,
                 "audit: the replayed evaluation differs from the live "
                 "service's:\n%s",
                 difference.c_str());
    return 1;
  }
  std::fprintf(stderr,
               "audit: the replayed evaluation equals the live service's "
               "(%d subjects)\n",
               evaluation->scores_size());
  return 0;
}

// replay --as_of: the state at a past moment, from history alone.
int ReplayAsOf() {
  absl::Time as_of;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, absl::GetFlag(FLAGS_as_of), &as_of,
                       &error)) {
    std::fprintf(stderr, "audit: --as_of: %s\n", error.c_str());
    return 2;
  }
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [service, address] : Pairs(absl::GetFlag(FLAGS_addr))) {
    auto replayed = ReplayService(service, address, as_of, nullptr, nullptr);
    if (!replayed.ok()) {
      std::fprintf(stderr, "audit: %s: %s\n", service.c_str(),
                   std::string(replayed.status().message()).c_str());
      return 2;
    }
    out[service] = nlohmann::json::parse(audit::StateJson(*replayed));
  }
  const std::string text = out.dump(2);
  if (absl::GetFlag(FLAGS_state_out).empty()) {
    std::printf("%s\n", text.c_str());
    return 0;
  }
  return files::WriteFileAtomically(absl::GetFlag(FLAGS_state_out), text).ok()
             ? 0
             : 2;
}

// Rebuilds each service's projections from its history with the services'
// own domain functions and compares their digests with GetStateDigest. The
// history is read up to the heads the digest was taken at; a service that
// moved meanwhile is asked again.
int Replay() {
  if (!absl::GetFlag(FLAGS_as_of).empty()) return ReplayAsOf();
  const auto algorithm = HashAlgorithmFlag();
  nlohmann::json report = nlohmann::json::array();
  bool all_match = true;
  for (const auto& [service, address] : Pairs(absl::GetFlag(FLAGS_addr))) {
    auto stub = EventLogStub(address);
    std::vector<audit::ProjectionComparison> result;
    uint64_t events = 0;
    for (int attempt = 0; attempt < 3; ++attempt) {
      grpc::ClientContext ctx;
      Authorize(ctx);
      common::v1::StateDigest reported;
      grpc::Status s = stub->GetStateDigest(&ctx, {}, &reported);
      if (!s.ok()) {
        std::fprintf(stderr, "audit: %s: %s\n", service.c_str(),
                     s.error_message().c_str());
        return 2;
      }
      std::map<uint32_t, uint64_t> upto;
      for (const auto& d : reported.projections()) {
        for (const auto& pos : d.applied()) {
          if (pos.service() == service) upto[pos.partition()] = pos.sequence();
        }
      }
      auto replayed = ReplayService(service, address, absl::InfiniteFuture(),
                                    &upto, &events);
      if (!replayed.ok()) {
        std::fprintf(stderr, "audit: %s: %s\n", service.c_str(),
                     std::string(replayed.status().message()).c_str());
        const absl::StatusCode code = replayed.status().code();
        return code == absl::StatusCode::kUnimplemented ||
                       code == absl::StatusCode::kUnavailable
                   ? 2
                   : 1;
      }
      result = audit::Compare(*replayed, reported, algorithm);
      bool match = true;
      for (const auto& c : result) match = match && c.match;
      if (match) break;
      // Only a service that moved since the digest deserves another look.
      grpc::ClientContext hctx;
      Authorize(hctx);
      common::v1::GetLogHeadsResponse heads;
      if (!stub->GetLogHeads(&hctx, {}, &heads).ok()) return 2;
      bool moved = false;
      for (int p = 0; p < heads.heads_size(); ++p) {
        auto it = upto.find(p);
        moved = moved || heads.heads(p) != (it == upto.end() ? 0 : it->second);
      }
      if (!moved) break;
    }
    for (const auto& c : result) {
      all_match = all_match && c.match;
      report.push_back(
          {{"service", service},
           {"projection", c.name},
           {"events", events},
           {"replayed_rows", c.replayed_rows},
           {"replayed_digest", absl::BytesToHexString(c.replayed_digest)},
           {"reported_rows", c.reported_rows},
           {"reported_digest", absl::BytesToHexString(c.reported_digest)},
           {"match", c.match}});
    }
  }
  std::printf("%s\n", report.dump(2).c_str());
  return all_match ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() == 2 && std::string(args[1]) == "verify") return Verify();
  if (args.size() == 2 && std::string(args[1]) == "export") return Export();
  if (args.size() == 2 && std::string(args[1]) == "receipt")
    return MakeReceipt();
  if (args.size() == 2 && std::string(args[1]) == "evaluation")
    return EvaluationCommand();
  if (args.size() == 2 && std::string(args[1]) == "prove")
    return ProveCommand();
  if (args.size() == 2 && std::string(args[1]) == "check-receipt") {
    return CheckReceiptCommand();
  }
  if (args.size() == 2 && std::string(args[1]) == "consistency")
    return Consistency();
  if (args.size() == 2 && std::string(args[1]) == "replay") return Replay();
  if (args.size() == 2 && std::string(args[1]) == "timeline") return Timeline();
  if (args.size() == 2 && std::string(args[1]) == "compare")
    return CompareSources();
  std::fprintf(stderr,
               "usage: audit "
               "verify|export|prove|receipt|check-receipt|consistency|replay|"
               "evaluation|timeline|compare "
               "(see --help)\n");
  return 2;
}
