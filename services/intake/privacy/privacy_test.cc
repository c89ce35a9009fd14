#include <dirent.h>

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "services/common/testing/test_support.h"
#include "services/intake/privacy/contact_crypto.h"
#include "services/intake/privacy/key_store.h"

namespace wangge::intake {
namespace {

class ContactCryptoTest : public ::testing::TestWithParam<CipherSuite> {};

TEST_P(ContactCryptoTest, RoundTripsAndRefusesAnyChange) {
  const std::string key = NewContactKey(GetParam());
  auto ct =
      EncryptContact(GetParam(), key, "张三 13800000000", "C20240719-AAAA");
  ASSERT_TRUE(ct.ok()) << ct.status();
  EXPECT_EQ(ct->find("13800000000"), std::string::npos);
  EXPECT_EQ(*DecryptContact(GetParam(), key, *ct, "C20240719-AAAA"),
            "张三 13800000000");
  // Another case's ciphertext, a flipped bit, another key: all refused.
  EXPECT_EQ(
      DecryptContact(GetParam(), key, *ct, "C20240719-BBBB").status().code(),
      absl::StatusCode::kDataLoss);
  for (size_t i = 0; i < ct->size(); i += 7) {
    std::string bad = *ct;
    bad[i] ^= 0x01;
    EXPECT_FALSE(DecryptContact(GetParam(), key, bad, "C20240719-AAAA").ok())
        << i;
  }
  EXPECT_FALSE(DecryptContact(GetParam(), NewContactKey(GetParam()), *ct,
                              "C20240719-AAAA")
                   .ok());
  // Two encryptions of the same contact differ (random nonce/IV).
  EXPECT_NE(*EncryptContact(GetParam(), key, "x", "a"),
            *EncryptContact(GetParam(), key, "x", "a"));
}

INSTANTIATE_TEST_SUITE_P(Suites, ContactCryptoTest,
                         ::testing::Values(CipherSuite::kStandard,
                                           CipherSuite::kGuomi));

bool AnyFileContains(const std::string& dir, const std::string& needle) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::ifstream in(dir + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (ss.str().find(needle) != std::string::npos) found = true;
  }
  closedir(d);
  return found;
}

TEST(KeyStoreTest, DestroyedKeyIsPhysicallyGone) {
  const std::string dir = testing::MakeTempDir("keys");
  auto store = KeyStore::Open(dir);
  ASSERT_TRUE(store.ok());
  // Distinctive key bytes to look for on disk.
  const std::string doomed = "DOOMED-KEY-BYTES-0123456789abcdef";
  const std::string kept = "KEPT-KEY-BYTES-fedcba9876543210xx";
  ASSERT_TRUE((*store)->Put("C1", doomed).ok());
  ASSERT_TRUE((*store)->Put("C2", kept).ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE((*store)
                    ->Put("filler-" + std::to_string(i), std::string(64, 'f'))
                    .ok());
  }
  EXPECT_TRUE(AnyFileContains(dir, doomed));
  ASSERT_TRUE((*store)->Destroy("C1").ok());
  EXPECT_FALSE((*store)->Get("C1")->has_value());
  EXPECT_EQ(**(*store)->Get("C2"), kept);
  EXPECT_FALSE(AnyFileContains(dir, doomed));
  // Still gone after a reopen.
  store->reset();
  auto reopened = KeyStore::Open(dir);
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE((*reopened)->Get("C1")->has_value());
  EXPECT_FALSE(AnyFileContains(dir, doomed));
  EXPECT_TRUE(AnyFileContains(dir, kept));
}

}  // namespace
}  // namespace wangge::intake
