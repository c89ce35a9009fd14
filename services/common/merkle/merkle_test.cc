#include "services/common/merkle/merkle.h"

#include <random>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace wangge::merkle {
namespace {

using wangge::common::v1::HASH_ALGORITHM_SHA256;

std::string Hex(const std::string& h) { return absl::BytesToHexString(h); }
std::string Bin(const std::string& hex) { return absl::HexStringToBytes(hex); }

// A tree held in memory: leaves and every perfect node, via CompactRange.
class MemoryTree {
 public:
  explicit MemoryTree(const crypto::Hasher* h) : h_(h), range_(h) {}
  void Add(const std::string& record) {
    for (auto& node : range_.Append(LeafHash(*h_, record))) {
      if (levels_.size() <= static_cast<size_t>(node.level)) {
        levels_.resize(node.level + 1);
      }
      levels_[node.level].push_back(node.hash);
    }
  }
  Tree tree() const {
    return Tree(
        h_, [this](int level, uint64_t index) -> absl::StatusOr<std::string> {
          if (static_cast<size_t>(level) >= levels_.size() ||
              index >= levels_[level].size()) {
            return absl::NotFoundError("node");
          }
          return levels_[level][index];
        });
  }
  const CompactRange& range() const { return range_; }

 private:
  const crypto::Hasher* h_;
  CompactRange range_;
  std::vector<std::vector<std::string>> levels_;
};

// The RFC 6962 test leaves used by Certificate Transparency's own tests.
const std::vector<std::string> kLeaves = {
    "",
    std::string("\x00", 1),
    "\x10",
    "\x20\x21",
    "\x30\x31",
    "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57",
    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};

const char* const kRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

class MerkleTest : public ::testing::Test {
 protected:
  crypto::Hasher h_{HASH_ALGORITHM_SHA256};
};

TEST_F(MerkleTest, RootsEqualRfc6962ReferenceValues) {
  MemoryTree t(&h_);
  EXPECT_EQ(Hex(*t.tree().Root(0)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  for (size_t n = 0; n < kLeaves.size(); ++n) {
    t.Add(kLeaves[n]);
    EXPECT_EQ(Hex(*t.tree().Root(n + 1)), kRoots[n]) << "size " << n + 1;
    EXPECT_EQ(Hex(t.range().Root()), kRoots[n]);
  }
}

TEST_F(MerkleTest, ProofsEqualReferenceValues) {
  MemoryTree t(&h_);
  for (const auto& l : kLeaves) t.Add(l);
  auto p0 = *t.tree().InclusionProof(0, 8);
  ASSERT_EQ(p0.size(), 3u);
  EXPECT_EQ(Hex(p0[0]),
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7");
  EXPECT_EQ(Hex(p0[1]),
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e");
  EXPECT_EQ(Hex(p0[2]),
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4");
  auto p5 = *t.tree().InclusionProof(5, 8);
  ASSERT_EQ(p5.size(), 3u);
  EXPECT_EQ(Hex(p5[0]),
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b");
  EXPECT_EQ(Hex(p5[1]),
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0");
  EXPECT_EQ(Hex(p5[2]),
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
  auto c68 = *t.tree().ConsistencyProof(6, 8);
  ASSERT_EQ(c68.size(), 3u);
  EXPECT_EQ(Hex(c68[0]),
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a");
  EXPECT_EQ(Hex(c68[1]),
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0");
  EXPECT_EQ(Hex(c68[2]),
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
  auto c25 = *t.tree().ConsistencyProof(2, 5);
  ASSERT_EQ(c25.size(), 2u);
  EXPECT_EQ(Hex(c25[0]),
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e");
  EXPECT_EQ(Hex(c25[1]),
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b");
  EXPECT_TRUE(
      VerifyInclusion(h_, 5, 8, LeafHash(h_, kLeaves[5]), p5, Bin(kRoots[7]))
          .ok());
  EXPECT_TRUE(
      VerifyConsistency(h_, 6, 8, Bin(kRoots[5]), Bin(kRoots[7]), c68).ok());
}

// Every size up to a few thousand: roots agree between the stored-node tree
// and the compact range, and proofs for sampled indices and sizes verify.
TEST_F(MerkleTest, ProofsVerifyForEverySizeAndFailWhenAltered) {
  MemoryTree t(&h_);
  std::mt19937_64 rng(42);
  std::vector<std::string> roots;  // roots[n - 1]
  std::vector<std::string> leaves;
  for (uint64_t n = 1; n <= 3000; ++n) {
    std::string record = "event-" + std::to_string(n);
    leaves.push_back(LeafHash(h_, record));
    t.Add(record);
    std::string root = *t.tree().Root(n);
    ASSERT_EQ(root, t.range().Root()) << n;
    roots.push_back(root);
    const Tree tree = t.tree();
    for (uint64_t i : {uint64_t{0}, n - 1, rng() % n}) {
      auto proof = *tree.InclusionProof(i, n);
      ASSERT_TRUE(VerifyInclusion(h_, i, n, leaves[i], proof, root).ok())
          << i << "/" << n;
    }
    for (uint64_t m :
         {uint64_t{1}, (n + 1) / 2, n - (n > 1 ? 1 : 0), 1 + rng() % n}) {
      auto proof = *tree.ConsistencyProof(m, n);
      ASSERT_TRUE(VerifyConsistency(h_, m, n, roots[m - 1], root, proof).ok())
          << m << "->" << n;
    }
  }
  // Alterations: any changed hash, size or index fails.
  const uint64_t n = 3000;
  const Tree tree = t.tree();
  for (int trial = 0; trial < 300; ++trial) {
    uint64_t i = rng() % n;
    auto proof = *tree.InclusionProof(i, n);
    const std::string& root = roots[n - 1];
    EXPECT_FALSE(
        VerifyInclusion(h_, (i + 1) % n, n, leaves[i], proof, root).ok());
    // A size is only meaningful with its root (a checkpoint signs both): the
    // proof for n must not pass as a proof against the tree of n - 1.
    EXPECT_FALSE(
        VerifyInclusion(h_, i, n - 1, leaves[i], proof, roots[n - 2]).ok());
    auto bad = proof;
    bad[rng() % bad.size()][rng() % 32] ^= 1;
    EXPECT_FALSE(VerifyInclusion(h_, i, n, leaves[i], bad, root).ok());
    auto shorter = proof;
    shorter.pop_back();
    EXPECT_FALSE(VerifyInclusion(h_, i, n, leaves[i], shorter, root).ok());
    auto longer = proof;
    longer.push_back(proof[0]);
    EXPECT_FALSE(VerifyInclusion(h_, i, n, leaves[i], longer, root).ok());

    uint64_t m = 1 + rng() % (n - 1);
    auto cproof = *tree.ConsistencyProof(m, n);
    EXPECT_FALSE(
        VerifyConsistency(h_, m + 1, n, roots[m - 1], root, cproof).ok());
    EXPECT_FALSE(
        VerifyConsistency(h_, m, n - 1, roots[m - 1], roots[n - 2], cproof)
            .ok());
    auto cbad = cproof;
    cbad[rng() % cbad.size()][rng() % 32] ^= 1;
    EXPECT_FALSE(VerifyConsistency(h_, m, n, roots[m - 1], root, cbad).ok());
    std::string other_root = roots[m - 1];
    other_root[0] ^= 1;
    EXPECT_FALSE(VerifyConsistency(h_, m, n, other_root, root, cproof).ok());
  }
  // Edge cases the verifiers must refuse rather than accept vacuously.
  EXPECT_FALSE(VerifyInclusion(h_, 0, 0, leaves[0], {}, roots[0]).ok());
  EXPECT_FALSE(VerifyConsistency(h_, 0, 5, "", roots[4], {}).ok());
  EXPECT_FALSE(VerifyConsistency(h_, 3, 5, roots[2], roots[4], {}).ok());
  EXPECT_TRUE(VerifyConsistency(h_, 5, 5, roots[4], roots[4], {}).ok());
  EXPECT_FALSE(VerifyConsistency(h_, 5, 5, roots[4], roots[3], {}).ok());
}

TEST_F(MerkleTest, CompactRangeReloadsFromStoredNodes) {
  MemoryTree t(&h_);
  for (int i = 0; i < 1234; ++i) t.Add("r" + std::to_string(i));
  // Load through the same node source the store uses.
  std::vector<std::vector<std::string>> levels;
  CompactRange fresh(&h_);
  for (int i = 0; i < 1234; ++i) {
    for (auto& node : fresh.Append(LeafHash(h_, "r" + std::to_string(i)))) {
      if (levels.size() <= static_cast<size_t>(node.level))
        levels.resize(node.level + 1);
      levels[node.level].push_back(node.hash);
    }
  }
  auto reloaded = CompactRange::Load(
      &h_, 1234, [&](int l, uint64_t i) -> absl::StatusOr<std::string> {
        return levels[l][i];
      });
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->Root(), t.range().Root());
  reloaded->Append(LeafHash(h_, "next"));
  fresh.Append(LeafHash(h_, "next"));
  EXPECT_EQ(reloaded->Root(), fresh.Root());
}

TEST_F(MerkleTest, ExtendBuildsTheSameTreeAsAppend) {
  MemoryTree t(&h_);
  CompactRange extended(&h_);
  for (int i = 0; i < 1100; ++i) {
    const std::string record = "r" + std::to_string(i);
    t.Add(record);
    extended.Extend(LeafHash(h_, record));
    ASSERT_EQ(extended.size(), t.range().size());
    ASSERT_EQ(extended.Root(), t.range().Root()) << "size " << i + 1;
  }
  extended.Extend(LeafHash(h_, "other"));
  t.Add("another");
  EXPECT_NE(extended.Root(), t.range().Root());
}

}  // namespace
}  // namespace wangge::merkle
