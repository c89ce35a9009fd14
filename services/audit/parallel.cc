#include "services/audit/parallel.h"

#include <algorithm>
#include <memory>
#include <thread>

#include "google/protobuf/arena.h"

namespace wangge::audit {

VerifiedReplay VerifyAndReplay(
    const std::string& service,
    const std::vector<std::vector<common::v1::StoredEvent>>& partitions,
    const crypto::Hasher* hasher, std::vector<const crypto::Verifier*> keys,
    int threads) {
  const int n = std::max(1, std::min<int>(threads, partitions.size()));
  std::vector<std::unique_ptr<Replayer>> replayers;
  std::vector<absl::Status> failures(n);
  VerifiedReplay out;
  out.reports.resize(partitions.size());
  for (int t = 0; t < n; ++t) {
    replayers.push_back(std::make_unique<Replayer>(service));
    size_t events = 0;
    for (size_t p = t; p < partitions.size(); p += n)
      events += partitions[p].size();
    replayers.back()->Reserve(events);
  }
  auto work = [&](int t) {
    // Envelopes are parsed onto an arena dropped every few thousand: no
    // allocation or destructor per field.
    google::protobuf::Arena arena;
    int on_arena = 0;
    for (size_t p = t; p < partitions.size(); p += n) {
      PartitionVerifier verifier(service, p, hasher, keys);
      for (const auto& e : partitions[p]) {
        if (++on_arena == 4096) {
          arena.Reset();
          on_arena = 0;
        }
        auto* env =
            google::protobuf::Arena::CreateMessage<common::v1::EventEnvelope>(
                &arena);
        if (!env->ParseFromString(e.record())) {
          verifier.Add(e);  // reports the record at its position
          continue;
        }
        verifier.Add(e, env);
        if (failures[t].ok()) failures[t] = replayers[t]->Apply(p, *env);
      }
      out.reports[p] = verifier.Finish();
    }
    // Each share sorted on its own core; the first replayer merges them.
    replayers[t]->SortRows();
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (int t = 0; t < n; ++t) {
    if (!failures[t].ok()) {
      out.state = failures[t];
      return out;
    }
  }
  for (int t = 1; t < n; ++t) replayers[0]->Absorb(std::move(*replayers[t]));
  out.state = replayers[0]->Finish();
  return out;
}

}  // namespace wangge::audit
