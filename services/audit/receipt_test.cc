#include "services/audit/receipt.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/testing/test_support.h"

namespace wangge::audit {
namespace {

TEST(ReceiptTest, VerifiesOfflineAndFailsWhenAnyByteChanges) {
  auto signer = *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_SM2,
                                          "intake-1");
  auto key = *crypto::Verifier::FromPem(signer->PublicKeyPem());
  eventstore::Options o;
  o.service = "intake";
  o.path = testing::MakeTempDir("receipt") + "/store";
  o.partitions = 1;
  o.signer = std::move(signer);
  o.hash_algorithm = common::v1::HASH_ALGORITHM_SM3;
  o.checkpoint_every_events = 1000000;
  auto store = *eventstore::EventStore::Open(o);
  for (int i = 0; i < 50; ++i) {
    eventstore::AppendRequest r;
    eventstore::StreamAppend sa;
    sa.stream_id = absl::StrCat("case/C", i);
    common::v1::Position p;
    p.set_sequence(i);
    sa.events.push_back(eventstore::MakeEvent(p));
    r.streams.push_back(sa);
    ASSERT_TRUE(store->Append(r).ok());
  }
  ASSERT_TRUE(store->CheckpointNow().ok());
  const auto checkpoint = *store->GetCheckpoint(0);
  const auto events = *store->ReadPartition(0, 1, 100);
  Receipt r;
  r.service = "intake";
  r.partition = 0;
  r.leaf_index = 17;
  r.record = events[17].record();
  r.leaf_hash = events[17].leaf_hash();
  r.proof = *store->InclusionProof(0, 17, checkpoint.tree_size());
  r.checkpoint = checkpoint;
  const std::string json = ReceiptToJson(r);
  auto parsed = ReceiptFromJson(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_TRUE(CheckReceipt(*parsed, *key).ok());

  // Change any byte of the receipt's content: it must fail.
  auto mutate = [&](auto change) {
    Receipt m = *parsed;
    change(m);
    return CheckReceipt(m, *key).ok();
  };
  for (size_t i = 0; i < r.record.size(); i += 5) {
    EXPECT_FALSE(mutate([&](Receipt& m) { m.record[i] ^= 1; }))
        << "record byte " << i;
  }
  for (size_t p = 0; p < r.proof.size(); ++p) {
    for (size_t i = 0; i < 32; i += 7) {
      EXPECT_FALSE(mutate([&](Receipt& m) { m.proof[p][i] ^= 1; }))
          << p << "/" << i;
    }
  }
  EXPECT_FALSE(mutate([](Receipt& m) { m.leaf_hash[0] ^= 1; }));
  EXPECT_FALSE(mutate([](Receipt& m) { m.leaf_index += 1; }));
  EXPECT_FALSE(mutate([](Receipt& m) {
    m.checkpoint.set_tree_size(m.checkpoint.tree_size() + 1);
  }));
  EXPECT_FALSE(mutate([](Receipt& m) {
    std::string root = m.checkpoint.merkle_root();
    root[3] ^= 1;
    m.checkpoint.set_merkle_root(root);
  }));
  EXPECT_FALSE(mutate([](Receipt& m) {
    std::string sig = m.checkpoint.signature();
    sig[sig.size() / 2] ^= 1;
    m.checkpoint.set_signature(sig);
  }));
  EXPECT_FALSE(mutate([](Receipt& m) { m.service = "dispatch"; }));
  // Any character of the JSON text changed: it fails to parse or to check.
  int mutated_parsed = 0;
  for (size_t i = 0; i < json.size(); i += 11) {
    std::string changed = json;
    changed[i] = changed[i] == 'a' ? 'b' : 'a';
    auto p = ReceiptFromJson(changed);
    if (p.ok() && changed != json) {
      EXPECT_FALSE(CheckReceipt(*p, *key).ok()) << "char " << i;
      ++mutated_parsed;
    }
  }
  // Some changes parse (inside hex, names): the check itself was exercised.
  EXPECT_GT(mutated_parsed, 0);
  // Hex only as written: upper case, an odd tail or a stray character in
  // the leaf hash or a proof node is refused, not decoded to other bytes.
  const std::string leaf = absl::BytesToHexString(r.leaf_hash);
  for (const std::string& bad :
       {absl::AsciiStrToUpper(leaf), leaf + "0", leaf.substr(0, 62) + "0g"}) {
    std::string changed = json;
    changed.replace(changed.find(leaf), leaf.size(), bad);
    EXPECT_EQ(ReceiptFromJson(changed).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  // Another key does not verify it.
  auto other =
      *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_SM2, "x");
  EXPECT_FALSE(
      CheckReceipt(*parsed, **crypto::Verifier::FromPem(other->PublicKeyPem()))
          .ok());
}

// "QR==" decodes to the same byte as "QQ==" (the low four bits of the last
// character are unused): only the canonical spelling is read.
TEST(ReceiptTest, OnlyCanonicalBase64IsRead) {
  Receipt r;
  r.service = "intake";
  r.record = "A";
  const std::string json = ReceiptToJson(r);
  ASSERT_NE(json.find("\"QQ==\""), std::string::npos) << json;
  EXPECT_TRUE(ReceiptFromJson(json).ok());
  std::string other = json;
  other.replace(other.find("\"QQ==\""), 6, "\"QR==\"");
  EXPECT_EQ(ReceiptFromJson(other).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wangge::audit
