// Event store benchmark (manual): appends with 1/16/64 writers, each
// appending one event and waiting for its acknowledgement, in sync and async;
// batches of 100; replay (read, parse, hash check); proofs.
//
//   bazel run -c opt //services/common/eventstore:event_store_bench -- [dir]

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/merkle/merkle.h"

using namespace wangge;
using namespace wangge::eventstore;

namespace {

std::string g_dir = "/tmp/wangge-bench";
int g_run = 0;

std::unique_ptr<EventStore> Open(Durability d, int partitions,
                                 const std::string& path) {
  Options o;
  o.service = "bench";
  o.path = path;
  o.partitions = partitions;
  o.durability = d;
  o.signer =
      *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_ED25519, "b");
  return *EventStore::Open(o);
}

// A new, empty directory for a store.
std::string FreshPath() {
  const std::string path = absl::StrCat(g_dir, "/", g_run++);
  if (std::system(("rm -rf " + path).c_str()) != 0) std::perror("system");
  return path;
}

std::unique_ptr<EventStore> OpenFresh(Durability d, int partitions = 8) {
  return Open(d, partitions, FreshPath());
}

NewEvent Payload() {
  common::v1::Position p;
  p.set_service(std::string(200, 'x'));  // ~300-byte records
  p.set_sequence(42);
  return MakeEvent(p);
}

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(q * v.size()));
  std::nth_element(v.begin(), v.begin() + i, v.end());
  return v[i];
}

void Appends(Durability d, int writers, int batch, absl::Duration duration) {
  auto store = OpenFresh(d);
  const uint64_t syncs0 = store->wal_syncs();
  std::atomic<bool> stop{false};
  std::vector<std::vector<double>> latencies(writers);
  std::vector<std::thread> threads;
  std::atomic<uint64_t> events{0};
  const NewEvent payload = Payload();
  const absl::Time start = absl::Now();
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      uint64_t n = 0;
      while (!stop) {
        AppendRequest r;
        StreamAppend sa;
        sa.stream_id = absl::StrCat("case/", w, "-", n++);
        sa.expected_version = kNoStream;
        sa.events.assign(batch, payload);
        r.streams.push_back(std::move(sa));
        const absl::Time t0 = absl::Now();
        auto result = store->Append(std::move(r));
        latencies[w].push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
        if (!result.ok()) std::abort();
        events += batch;
      }
    });
  }
  absl::SleepFor(duration);
  stop = true;
  for (auto& t : threads) t.join();
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::printf(
      "| %-5s | %2d writers x %3d events | %9.0f events/s | %8.0f fsync/s | "
      "p50 %7.0f us | p99 %7.0f us |\n",
      d == Durability::kSync ? "sync" : "async", writers, batch, events / secs,
      (store->wal_syncs() - syncs0) / secs, Percentile(all, 0.5),
      Percentile(all, 0.99));
}

void Replay() {
  const std::string path = FreshPath();
  auto store = Open(Durability::kAsync, 8, path);
  const int kEvents = 400000;
  {
    std::vector<std::thread> threads;
    for (int w = 0; w < 8; ++w) {
      threads.emplace_back([&, w] {
        for (int i = 0; i < kEvents / 8 / 100; ++i) {
          AppendRequest r;
          StreamAppend sa;
          sa.stream_id = absl::StrCat("case/", w, "-", i);
          sa.events.assign(100, Payload());
          r.streams.push_back(std::move(sa));
          if (!store->Append(std::move(r)).ok()) std::abort();
        }
      });
    }
    for (auto& t : threads) t.join();
  }
  // Closed and opened again: the replay reads a settled store (as an audit
  // does), not one whose flushes and compactions still compete for the
  // two cores.
  store.reset();
  store = Open(Durability::kAsync, 8, path);
  for (int threads_n : {1, 2}) {
    std::atomic<uint64_t> n{0};
    const absl::Time t0 = absl::Now();
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_n; ++t) {
      threads.emplace_back([&, t] {
        common::v1::EventEnvelope env;
        uint64_t local = 0;
        for (int p = t; p < store->partitions(); p += threads_n) {
          absl::Status s = store->ScanPartition(
              p, 1, [&](uint64_t, const StoredEventView& e) {
                if (!env.ParseFromArray(e.record.data(), e.record.size()))
                  std::abort();
                if (merkle::LeafHash(store->hasher(), e.record) != e.leaf_hash)
                  std::abort();
                ++local;
                return true;
              });
          if (!s.ok()) std::abort();
        }
        n += local;
      });
    }
    for (auto& t : threads) t.join();
    const double secs = absl::ToDoubleSeconds(absl::Now() - t0);
    std::printf(
        "| replay (read, parse, leaf hash check) | %d thread(s) | %llu events "
        "| %9.0f events/s |\n",
        threads_n, static_cast<unsigned long long>(n.load()), n / secs);
  }
  // Proofs on partition 0.
  const uint64_t size = store->Head(0);
  const auto events = *store->ReadPartition(0, 1, size);
  auto root = *store->Root(0, size);
  const int kProofs = 20000;
  std::vector<std::vector<std::string>> proofs;
  absl::Time t0 = absl::Now();
  for (int i = 0; i < kProofs; ++i) {
    proofs.push_back(*store->InclusionProof(0, (i * 7919) % size, size));
  }
  double gen = kProofs / absl::ToDoubleSeconds(absl::Now() - t0);
  t0 = absl::Now();
  for (int i = 0; i < kProofs; ++i) {
    uint64_t idx = (i * 7919) % size;
    if (!merkle::VerifyInclusion(store->hasher(), idx, size,
                                 events[idx].leaf_hash(), proofs[i], root)
             .ok())
      std::abort();
  }
  double ver = kProofs / absl::ToDoubleSeconds(absl::Now() - t0);
  std::printf(
      "| inclusion proofs, tree of %llu | generate %8.0f/s | verify %8.0f/s "
      "|\n",
      static_cast<unsigned long long>(size), gen, ver);
  t0 = absl::Now();
  const int kConsistency = 5000;
  for (int i = 0; i < kConsistency; ++i) {
    uint64_t m = 1 + (i * 104729) % (size - 1);
    auto proof = *store->ConsistencyProof(0, m, size);
    if (i == 0) {
      if (!merkle::VerifyConsistency(store->hasher(), m, size,
                                     *store->Root(0, m), root, proof)
               .ok())
        std::abort();
    }
  }
  std::printf("| consistency proofs, tree of %llu | generate %8.0f/s |\n",
              static_cast<unsigned long long>(size),
              kConsistency / absl::ToDoubleSeconds(absl::Now() - t0));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_dir = argv[1];
  const std::string only = argc > 2 ? argv[2] : "";
  if (std::system(("mkdir -p " + g_dir).c_str()) != 0) std::perror("system");
  const absl::Duration d = absl::Seconds(3);
  std::printf(
      "## appends (each writer appends and waits for its acknowledgement)\n");
  // One case alone, for profiling.
  if (only == "async-batch") {
    Appends(Durability::kAsync, 16, 100, absl::Seconds(6));
    return 0;
  }
  // sync-N / async-N: N writers of single events.
  for (const auto& [prefix, durability] :
       {std::pair<std::string, Durability>{"sync-", Durability::kSync},
        {"async-", Durability::kAsync}}) {
    int writers = 0;
    if (absl::StartsWith(only, prefix) &&
        absl::SimpleAtoi(only.substr(prefix.size()), &writers) && writers > 0) {
      Appends(durability, writers, 1, absl::Seconds(6));
      return 0;
    }
  }
  if (only == "replay") {
    Replay();
    return 0;
  }
  for (Durability dur : {Durability::kSync, Durability::kAsync}) {
    for (int writers : {1, 16, 64}) Appends(dur, writers, 1, d);
    Appends(dur, 16, 100, d);
  }
  std::printf("## replay and proofs\n");
  Replay();
  if (std::system(("rm -rf " + g_dir).c_str()) != 0) std::perror("system");
  return 0;
}
