#include "services/common/merkle/merkle.h"

#include "absl/strings/str_cat.h"

namespace wangge::merkle {
namespace {

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

int Log2(uint64_t n) {
  int l = 0;
  while ((uint64_t{1} << l) < n) ++l;
  return l;
}

absl::Status Fail(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("proof does not verify: ", what));
}

}  // namespace

std::string LeafHash(const crypto::Hasher& h, absl::string_view record) {
  return h.HashPrefixed('\x00', record);
}

std::string NodeHash(const crypto::Hasher& h, absl::string_view left,
                     absl::string_view right) {
  return h.HashPrefixed('\x01', left, right);
}

absl::StatusOr<std::string> Tree::Range(uint64_t lo, uint64_t hi) const {
  const uint64_t n = hi - lo;
  if (IsPowerOfTwo(n) && lo % n == 0) return nodes_(Log2(n), lo / n);
  const uint64_t k = SplitPoint(n);
  auto left = Range(lo, lo + k);
  if (!left.ok()) return left.status();
  auto right = Range(lo + k, hi);
  if (!right.ok()) return right.status();
  return NodeHash(*h_, *left, *right);
}

absl::StatusOr<std::string> Tree::Root(uint64_t size) const {
  if (size == 0) return h_->Hash("");
  return Range(0, size);
}

absl::Status Tree::Path(uint64_t index, uint64_t lo, uint64_t hi,
                        std::vector<std::string>* out) const {
  const uint64_t n = hi - lo;
  if (n == 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(n);
  if (index < lo + k) {
    absl::Status s = Path(index, lo, lo + k, out);
    if (!s.ok()) return s;
    auto right = Range(lo + k, hi);
    if (!right.ok()) return right.status();
    out->push_back(*right);
  } else {
    absl::Status s = Path(index, lo + k, hi, out);
    if (!s.ok()) return s;
    auto left = Range(lo, lo + k);
    if (!left.ok()) return left.status();
    out->push_back(*left);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Tree::InclusionProof(
    uint64_t index, uint64_t size) const {
  if (index >= size) {
    return absl::OutOfRangeError(
        absl::StrCat("leaf ", index, " is not in a tree of size ", size));
  }
  std::vector<std::string> out;
  absl::Status s = Path(index, 0, size, &out);
  if (!s.ok()) return s;
  return out;
}

absl::Status Tree::SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool whole,
                            std::vector<std::string>* out) const {
  const uint64_t n = hi - lo;
  if (m == n) {
    if (whole) return absl::OkStatus();
    auto h = Range(lo, hi);
    if (!h.ok()) return h.status();
    out->push_back(*h);
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    absl::Status s = SubProof(m, lo, lo + k, whole, out);
    if (!s.ok()) return s;
    auto right = Range(lo + k, hi);
    if (!right.ok()) return right.status();
    out->push_back(*right);
  } else {
    absl::Status s = SubProof(m - k, lo + k, hi, false, out);
    if (!s.ok()) return s;
    auto left = Range(lo, lo + k);
    if (!left.ok()) return left.status();
    out->push_back(*left);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Tree::ConsistencyProof(
    uint64_t first, uint64_t second) const {
  if (first == 0 || first > second) {
    return absl::OutOfRangeError(
        absl::StrCat("no consistency proof from size ", first, " to ", second));
  }
  std::vector<std::string> out;
  if (first == second) return out;
  absl::Status s = SubProof(first, 0, second, true, &out);
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<CompactRange> CompactRange::Load(const crypto::Hasher* hasher,
                                                uint64_t size,
                                                const PerfectSubtrees& nodes) {
  CompactRange range(hasher);
  uint64_t offset = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if ((size & width) == 0) continue;
    auto hash = nodes(level, offset / width);
    if (!hash.ok()) return hash.status();
    range.frontier_.push_back({level, offset / width, *hash});
    offset += width;
  }
  range.size_ = size;
  return range;
}

std::vector<CompactRange::Node> CompactRange::Append(
    const std::string& leaf_hash) {
  std::vector<Node> completed;
  Add(leaf_hash, &completed);
  return completed;
}

void CompactRange::Add(const std::string& leaf_hash,
                       std::vector<Node>* completed) {
  if (completed != nullptr) completed->push_back({0, size_, leaf_hash});
  frontier_.push_back({0, size_, leaf_hash});
  ++size_;
  while (frontier_.size() >= 2 && frontier_[frontier_.size() - 1].level ==
                                      frontier_[frontier_.size() - 2].level) {
    Node right = std::move(frontier_.back());
    frontier_.pop_back();
    Node& left = frontier_.back();
    left.hash = NodeHash(*h_, left.hash, right.hash);
    left.index /= 2;
    ++left.level;
    if (completed != nullptr) completed->push_back(left);
  }
}

std::string CompactRange::Root() const {
  if (frontier_.empty()) return h_->Hash("");
  std::string root = frontier_.back().hash;
  for (size_t i = frontier_.size() - 1; i-- > 0;) {
    root = NodeHash(*h_, frontier_[i].hash, root);
  }
  return root;
}

absl::Status VerifyInclusion(const crypto::Hasher& h, uint64_t index,
                             uint64_t size, absl::string_view leaf_hash,
                             const std::vector<std::string>& proof,
                             absl::string_view root) {
  if (index >= size) return Fail("index beyond the tree");
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) return Fail("proof longer than the path");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(h, p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(h, r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Fail("proof shorter than the path");
  if (r != root) return Fail("root mismatch");
  return absl::OkStatus();
}

absl::Status VerifyConsistency(const crypto::Hasher& h, uint64_t first,
                               uint64_t second, absl::string_view first_root,
                               absl::string_view second_root,
                               const std::vector<std::string>& proof) {
  if (first == 0 || first > second) return Fail("sizes out of order");
  if (first == second) {
    if (!proof.empty()) return Fail("proof for equal sizes must be empty");
    if (first_root != second_root) return Fail("roots differ at equal sizes");
    return absl::OkStatus();
  }
  if (proof.empty()) return Fail("empty proof");
  std::vector<std::string> path;
  if (IsPowerOfTwo(first)) path.emplace_back(first_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0];
  std::string sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return Fail("proof longer than the path");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(h, c, fr);
      sr = NodeHash(h, c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(h, sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Fail("proof shorter than the path");
  if (fr != first_root) return Fail("first root mismatch");
  if (sr != second_root) return Fail("second root mismatch");
  return absl::OkStatus();
}

}  // namespace wangge::merkle
