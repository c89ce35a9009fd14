// Audit benchmark (manual): verify and replay throughput over a generated
// intake history held in memory (read from a real store once).
//
//   bazel run -c opt //services/audit:audit_bench -- [events] [dir] [pass]
//
// `pass`: only the one pass on two threads, over the history an earlier run
// of the same size left in `dir` (generating 10 M events takes minutes).
//
// verify: leaf and chain hashes, gapless sequences, the Merkle tree and every
// signed checkpoint (signature and root). replay: envelope parse, payload
// parse and ReportView per event, then the projection digest.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/audit/parallel.h"
#include "services/audit/replay.h"
#include "services/audit/verifier.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/files/files.h"
#include "wangge/intake/v1/events.pb.h"

using namespace wangge;

int main(int argc, char** argv) {
  const uint64_t total =
      argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000000;
  const std::string dir = argc > 2 ? argv[2] : "/tmp/wangge-audit-bench";
  const bool pass_only = argc > 3 && std::string(argv[3]) == "pass";
  constexpr int kPartitions = 8;
  // The signing key is kept beside a kept history.
  const std::string key_file = dir + ".key.pem";
  std::shared_ptr<const crypto::Signer> signer;
  if (auto pem = files::ReadFileToString(key_file); pass_only && pem.ok())
    signer = *crypto::Signer::FromPem(*pem, "bench");
  eventstore::Options o;
  o.service = "intake";
  o.path = dir;
  o.partitions = kPartitions;
  o.durability = eventstore::Durability::kAsync;
  // How many events the kept history holds (its log also holds checkpoints).
  const std::string count_file = dir + ".events";
  uint64_t stored = 0;
  if (auto count = files::ReadFileToString(count_file);
      signer != nullptr && count.ok()) {
    stored = std::strtoull(count->c_str(), nullptr, 10);
  }
  if (stored != total) {
    stored = 0;
    if (std::system(("rm -rf " + dir + " " + count_file).c_str()) != 0)
      std::perror("system");
    signer = *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_ED25519,
                                       "bench");
    if (!files::WriteFileAtomically(key_file, signer->PrivateKeyPem(), 0600)
             .ok())
      return 1;
  }
  auto verifier = *crypto::Verifier::FromPem(signer->PublicKeyPem());
  o.signer = signer;
  auto store = *eventstore::EventStore::Open(o);

  absl::Time start = absl::Now();
  for (uint64_t i = stored; i < total;) {
    eventstore::AppendRequest r;
    for (int k = 0; k < 100 && i < total; ++k, ++i) {
      intake::v1::ReportReceived e;
      e.set_case_id(absl::StrCat("C20261122-", i));
      e.set_category_code("01.03");
      e.set_area_code("510104001002003004");
      e.mutable_point()->set_longitude(104.06 + (i % 1000) * 1e-5);
      e.mutable_point()->set_latitude(30.66 + (i % 997) * 1e-5);
      e.set_description(
          "井盖缺失 manhole cover missing at the market entrance");
      e.set_reporter_subject("12345");
      e.mutable_received_time()->set_seconds(1763798400 + i);
      eventstore::StreamAppend sa;
      sa.stream_id = "case/" + e.case_id();
      sa.events.push_back(eventstore::MakeEvent(e));
      r.streams.push_back(std::move(sa));
    }
    if (!store->Append(std::move(r)).ok()) return 1;
  }
  if (stored == 0) {
    if (!files::WriteFileAtomically(count_file, absl::StrCat(total)).ok())
      return 1;
    std::printf("generated %llu events in %.1f s\n",
                static_cast<unsigned long long>(total),
                absl::ToDoubleSeconds(absl::Now() - start));
  }
  std::vector<std::vector<common::v1::StoredEvent>> history(kPartitions);
  uint64_t bytes = 0;
  for (int p = 0; p < kPartitions; ++p) {
    history[p] = *store->ReadPartition(p, 1, SIZE_MAX);
    for (const auto& e : history[p]) bytes += e.record().size();
  }
  store.reset();
  std::printf("history: %llu events, %.0f bytes/record\n",
              static_cast<unsigned long long>(total),
              static_cast<double>(bytes) / total);

  const crypto::Hasher hasher(common::v1::HASH_ALGORITHM_SHA256);
  size_t violations = 0;
  std::string digest_separately;  // of the separate passes, to compare with
  if (!pass_only) {
    absl::Time start = absl::Now();
    size_t checkpoints = 0;
    for (int p = 0; p < kPartitions; ++p) {
      audit::PartitionVerifier v("intake", p, &hasher, verifier.get());
      for (const auto& e : history[p]) v.Add(e);
      auto report = v.Finish();
      violations += report.violations.size();
      checkpoints += report.checkpoints;
    }
    const double verify_s = absl::ToDoubleSeconds(absl::Now() - start);

    start = absl::Now();
    audit::Replayer replayer("intake");
    for (int p = 0; p < kPartitions; ++p) {
      for (const auto& e : history[p]) {
        if (!replayer.Add(p, e).ok()) return 1;
      }
    }
    auto state = replayer.Finish();
    if (!state.ok()) return 1;
    auto digest = audit::Compare(*state, common::v1::StateDigest(),
                                 common::v1::HASH_ALGORITHM_SHA256);
    const double replay_s = absl::ToDoubleSeconds(absl::Now() - start);
    digest_separately = digest[0].replayed_digest;

    std::printf(
        "verify: %.0f events/s (%.2f s, %zu checkpoints, %zu violations)\n",
        total / verify_s, verify_s, checkpoints, violations);
    std::printf("replay: %.0f events/s (%.2f s, %llu rows)\n", total / replay_s,
                replay_s,
                static_cast<unsigned long long>(digest[0].replayed_rows));
    std::printf("verify + replay: %.0f events/s\n",
                total / (verify_s + replay_s));
  }
  // The same work in one pass (each record parsed once), partitions spread
  // over both cores.
  for (int threads : {1, 2}) {
    if (pass_only && threads == 1) continue;
    absl::Time start = absl::Now();
    auto both = audit::VerifyAndReplay("intake", history, &hasher,
                                       {verifier.get()}, threads);
    if (!both.state.ok()) return 1;
    const double pass_s = absl::ToDoubleSeconds(absl::Now() - start);
    auto again = audit::Compare(*both.state, common::v1::StateDigest(),
                                common::v1::HASH_ALGORITHM_SHA256);
    const double s = absl::ToDoubleSeconds(absl::Now() - start);
    size_t found = 0;
    for (const auto& r : both.reports) found += r.violations.size();
    if (found != 0 || again[0].replayed_rows != total ||
        (!digest_separately.empty() &&
         again[0].replayed_digest != digest_separately)) {
      std::printf("the one-pass audit disagrees with the separate passes\n");
      return 1;
    }
    std::printf(
        "verify + replay, one pass, %d thread%s: %.0f events/s (%.2f s: "
        "%.2f s the pass, %.2f s the digest)\n",
        threads, threads == 1 ? "" : "s", total / s, s, pass_s, s - pass_s);
  }
  return violations == 0 ? 0 : 1;
}
