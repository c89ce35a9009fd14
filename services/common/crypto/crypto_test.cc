#include "services/common/crypto/crypto.h"

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "services/common/testing/test_support.h"

namespace wangge::crypto {
namespace {

using wangge::common::v1::HASH_ALGORITHM_SHA256;
using wangge::common::v1::HASH_ALGORITHM_SM3;
using wangge::common::v1::SIGNATURE_ALGORITHM_ED25519;
using wangge::common::v1::SIGNATURE_ALGORITHM_SM2;

TEST(HasherTest, StandardVectors) {
  // GB/T 32905-2016, example 1.
  EXPECT_EQ(ToHex(Hasher(HASH_ALGORITHM_SM3).Hash("abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
  // FIPS 180-2, example 1.
  EXPECT_EQ(ToHex(Hasher(HASH_ALGORITHM_SHA256).Hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Hasher h(HASH_ALGORITHM_SHA256);
  EXPECT_EQ(h.Hash2("ab", "c"), h.Hash("abc"));
  EXPECT_EQ(h.HashPrefixed('\x01', "a", "bc"), h.Hash(std::string("\x01"
                                                                  "abc",
                                                                  4)));
}

class SignatureTest
    : public ::testing::TestWithParam<wangge::common::v1::SignatureAlgorithm> {
};

TEST_P(SignatureTest, SignsVerifiesAndRefusesTampering) {
  auto signer = Signer::Generate(GetParam(), "k1");
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto sig = (*signer)->Sign("tree_size 42");
  ASSERT_TRUE(sig.ok());
  auto verifier = Verifier::FromPem((*signer)->PublicKeyPem());
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  EXPECT_TRUE((*verifier)->Verify("tree_size 42", *sig).ok());
  EXPECT_FALSE((*verifier)->Verify("tree_size 43", *sig).ok());
  std::string bad = *sig;
  bad[bad.size() / 2] ^= 1;
  EXPECT_FALSE((*verifier)->Verify("tree_size 42", bad).ok());
  // A key reloaded from PEM signs verifiably too.
  auto reloaded = Signer::FromPem((*signer)->PrivateKeyPem(), "k1");
  ASSERT_TRUE(reloaded.ok());
  EXPECT_TRUE((*verifier)->Verify("m", *(*reloaded)->Sign("m")).ok());
}

// The openssl command, an outside verifier, accepts our checkpoint signature
// (for SM2 with the GB/T 32918 default identity).
TEST_P(SignatureTest, OpensslCommandVerifiesCheckpoint) {
  auto signer = Signer::Generate(GetParam(), "k1");
  ASSERT_TRUE(signer.ok());
  wangge::common::v1::Checkpoint c;
  c.set_service("intake");
  c.set_partition(3);
  c.set_tree_size(1000);
  c.set_merkle_root(std::string(32, 'r'));
  c.set_chain_hash(std::string(32, 'c'));
  c.mutable_time()->set_seconds(1795000000);
  const auto hash = GetParam() == SIGNATURE_ALGORITHM_SM2
                        ? HASH_ALGORITHM_SM3
                        : HASH_ALGORITHM_SHA256;
  ASSERT_TRUE(SignCheckpoint(**signer, hash, &c).ok());
  auto verifier = Verifier::FromPem((*signer)->PublicKeyPem());
  EXPECT_TRUE(VerifyCheckpoint(**verifier, c).ok());
  wangge::common::v1::Checkpoint altered = c;
  altered.set_tree_size(999);
  EXPECT_FALSE(VerifyCheckpoint(**verifier, altered).ok());

  const std::string dir = testing::MakeTempDir("sig");
  testing::WriteFile(dir + "/msg", CheckpointSignedText(c));
  testing::WriteFile(dir + "/sig", c.signature());
  testing::WriteFile(dir + "/pub.pem", (*signer)->PublicKeyPem());
  std::string cmd = "openssl pkeyutl -verify -pubin -inkey " + dir +
                    "/pub.pem -rawin -in " + dir + "/msg -sigfile " + dir +
                    "/sig";
  if (GetParam() == SIGNATURE_ALGORITHM_SM2) {
    cmd += " -digest sm3 -pkeyopt distid:1234567812345678";
  }
  EXPECT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd;
  testing::WriteFile(dir + "/msg", CheckpointSignedText(altered));
  EXPECT_NE(std::system((cmd + " >/dev/null 2>&1").c_str()), 0);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, SignatureTest,
                         ::testing::Values(SIGNATURE_ALGORITHM_ED25519,
                                           SIGNATURE_ALGORITHM_SM2));

}  // namespace
}  // namespace wangge::crypto
