// Fuzz target for the proof verifiers (libFuzzer entry point). The input
// chooses sizes, an index and a proof; starting from a genuine proof of a
// small tree, the fuzzer's bytes flip, drop, add or reorder its hashes. A
// verifier must never crash and never accept a proof that is not the
// genuine one for the claimed (index, size, root).
//
// A libFuzzer build compiles this file with clang and -fsanitize=fuzzer
// (libclang-rt-14-dev) in place of proof_fuzz_test.cc, which runs the same
// function on 50,000 generated inputs in every CI run.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "services/common/merkle/merkle.h"

namespace {

using wangge::merkle::CompactRange;
using wangge::merkle::LeafHash;
using wangge::merkle::Tree;

struct Fixture {
  wangge::crypto::Hasher hasher{wangge::common::v1::HASH_ALGORITHM_SHA256};
  std::vector<std::vector<std::string>> levels;
  std::vector<std::string> roots;  // roots[n - 1]
  Fixture() {
    CompactRange range(&hasher);
    for (int i = 0; i < 64; ++i) {
      for (auto& node : range.Append(LeafHash(hasher, std::to_string(i)))) {
        if (levels.size() <= static_cast<size_t>(node.level))
          levels.resize(node.level + 1);
        levels[node.level].push_back(node.hash);
      }
      roots.push_back(range.Root());
    }
  }
  Tree tree() const {
    return Tree(&hasher,
                [this](int l, uint64_t i) -> absl::StatusOr<std::string> {
                  if (static_cast<size_t>(l) >= levels.size() ||
                      i >= levels[l].size()) {
                    return absl::NotFoundError("node");
                  }
                  return levels[l][i];
                });
  }
};

const Fixture& F() {
  static const Fixture* f = new Fixture();
  return *f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const Fixture& f = F();
  const uint64_t n = 1 + data[0] % 64;
  const uint64_t index = data[1] % n;
  const uint64_t m = 1 + data[2] % n;
  const Tree tree = f.tree();
  const std::string leaf = f.levels[0][index];
  auto genuine = *tree.InclusionProof(index, n);
  auto genuine_c = *tree.ConsistencyProof(m, n);
  std::vector<std::string> proof = genuine;
  std::vector<std::string> cproof = genuine_c;
  // Mutate the proofs with the bytes after the header (data[3] is unused).
  for (size_t i = 4; i + 1 < size; i += 2) {
    auto& target = (data[i] & 1) ? cproof : proof;
    const uint8_t op = data[i] >> 1;
    const uint8_t arg = data[i + 1];
    switch (op % 5) {
      case 0:
        if (!target.empty())
          target[arg % target.size()][arg % 32] ^= 1 + (op & 7);
        break;
      case 1:
        if (!target.empty()) target.erase(target.begin() + arg % target.size());
        break;
      case 2:
        target.push_back(std::string(32, static_cast<char>(arg)));
        break;
      case 3:
        if (target.size() > 1)
          std::swap(target[0], target[arg % target.size()]);
        break;
      case 4:
        target.insert(target.begin(), f.levels[0][arg % 64]);
        break;
    }
  }
  const bool ok = wangge::merkle::VerifyInclusion(f.hasher, index, n, leaf,
                                                  proof, f.roots[n - 1])
                      .ok();
  // Accepting anything but the genuine proof would be a forgery.
  if (ok && proof != genuine) std::abort();
  if (!ok && proof == genuine) std::abort();
  const bool cok = wangge::merkle::VerifyConsistency(
                       f.hasher, m, n, f.roots[m - 1], f.roots[n - 1], cproof)
                       .ok();
  if (cok && cproof != genuine_c) std::abort();
  if (!cok && cproof == genuine_c) std::abort();
  return 0;
}
