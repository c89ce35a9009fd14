#ifndef WANGGE_SERVICES_COMMON_MERKLE_MERKLE_H_
#define WANGGE_SERVICES_COMMON_MERKLE_MERKLE_H_

// RFC 6962 Merkle trees over a log's leaves: tree hashes, inclusion and
// consistency proofs, and verifiers (RFC 9162 §2.1.3.2 and §2.1.4.2) that
// check every step and that the proof is used up exactly.
//
// A tree is read through a PerfectSubtrees source: the hash of any aligned
// perfect subtree [index * 2^level, (index + 1) * 2^level). The event store
// keeps those nodes on disk, so roots and proofs cost O(log n) reads.
// CompactRange keeps the frontier in memory for appends.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/crypto/crypto.h"

namespace wangge::merkle {

std::string LeafHash(const crypto::Hasher& h, absl::string_view record);
std::string NodeHash(const crypto::Hasher& h, absl::string_view left,
                     absl::string_view right);

// Hash of the perfect subtree at (level, index); the leaf hash at level 0.
using PerfectSubtrees =
    std::function<absl::StatusOr<std::string>(int level, uint64_t index)>;

class Tree {
 public:
  Tree(const crypto::Hasher* hasher, PerfectSubtrees nodes)
      : h_(hasher), nodes_(std::move(nodes)) {}

  // MTH(D[0:size]); the hash of the empty string for size 0.
  absl::StatusOr<std::string> Root(uint64_t size) const;
  // PATH(index, D[0:size]).
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index,
                                                          uint64_t size) const;
  // PROOF(first, D[0:second]).
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(
      uint64_t first, uint64_t second) const;

 private:
  absl::StatusOr<std::string> Range(uint64_t lo, uint64_t hi) const;
  absl::Status Path(uint64_t index, uint64_t lo, uint64_t hi,
                    std::vector<std::string>* out) const;
  absl::Status SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool whole,
                        std::vector<std::string>* out) const;

  const crypto::Hasher* h_;
  PerfectSubtrees nodes_;
};

// The frontier of an append-only tree: the roots of its perfect subtrees
// from the left (binary decomposition of its size).
class CompactRange {
 public:
  struct Node {
    int level;
    uint64_t index;
    std::string hash;
  };
  explicit CompactRange(const crypto::Hasher* hasher) : h_(hasher) {}

  // Restores the frontier of a tree of `size` from stored nodes.
  static absl::StatusOr<CompactRange> Load(const crypto::Hasher* hasher,
                                           uint64_t size,
                                           const PerfectSubtrees& nodes);

  // Appends a leaf hash; returns every node completed by it (the leaf at
  // level 0 first), for the caller to store.
  std::vector<Node> Append(const std::string& leaf_hash);
  // The same for a caller that does not store nodes (a verifier): no list
  // of completed nodes is built.
  void Extend(const std::string& leaf_hash) { Add(leaf_hash, nullptr); }
  uint64_t size() const { return size_; }
  std::string Root() const;

 private:
  void Add(const std::string& leaf_hash, std::vector<Node>* completed);

  const crypto::Hasher* h_;
  uint64_t size_ = 0;
  std::vector<Node> frontier_;  // decreasing levels, left to right
};

// OK when `leaf_hash` at `index` is in the tree of `size` with `root`.
absl::Status VerifyInclusion(const crypto::Hasher& h, uint64_t index,
                             uint64_t size, absl::string_view leaf_hash,
                             const std::vector<std::string>& proof,
                             absl::string_view root);

// OK when the tree of `first` (first_root) is a prefix of the tree of
// `second` (second_root).
absl::Status VerifyConsistency(const crypto::Hasher& h, uint64_t first,
                               uint64_t second, absl::string_view first_root,
                               absl::string_view second_root,
                               const std::vector<std::string>& proof);

}  // namespace wangge::merkle

#endif  // WANGGE_SERVICES_COMMON_MERKLE_MERKLE_H_
