#include "services/audit/parallel.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/testing/test_support.h"
#include "wangge/intake/v1/events.pb.h"

namespace wangge::audit {
namespace {

// One pass over threads gives what separate verify and replay passes give;
// a broken record is still found at its position.
TEST(ParallelTest, OnePassEqualsSeparatePasses) {
  const crypto::Hasher hasher(common::v1::HASH_ALGORITHM_SHA256);
  std::shared_ptr<const crypto::Signer> signer = *crypto::Signer::Generate(
      common::v1::SIGNATURE_ALGORITHM_ED25519, "intake-1");
  auto key = *crypto::Verifier::FromPem(signer->PublicKeyPem());
  eventstore::Options o;
  o.service = "intake";
  o.path = testing::MakeTempDir("parallel") + "/store";
  o.partitions = 5;
  o.signer = signer;
  o.checkpoint_every_events = 50;
  o.durability = eventstore::Durability::kAsync;
  auto store = *eventstore::EventStore::Open(o);
  for (int i = 0; i < 1000; ++i) {
    intake::v1::ReportReceived r;
    r.set_case_id(absl::StrCat("C", i));
    r.set_area_code("110101001001001");
    eventstore::AppendRequest a;
    eventstore::StreamAppend sa;
    sa.stream_id = "case/" + r.case_id();
    sa.events.push_back(eventstore::MakeEvent(r));
    a.streams.push_back(std::move(sa));
    ASSERT_TRUE(store->Append(std::move(a)).ok());
  }
  std::vector<std::vector<common::v1::StoredEvent>> history(5);
  Replayer sequential("intake");
  std::vector<PartitionReport> reports;
  for (uint32_t p = 0; p < 5; ++p) {
    history[p] = *store->ReadPartition(p, 1, SIZE_MAX);
    PartitionVerifier v("intake", p, &hasher, key.get());
    for (const auto& e : history[p]) {
      v.Add(e);
      ASSERT_TRUE(sequential.Add(p, e).ok());
    }
    reports.push_back(v.Finish());
  }
  auto expected = sequential.Finish();
  ASSERT_TRUE(expected.ok());
  ASSERT_EQ((*expected)["reports"].size(), 1000u);
  for (int threads : {1, 2, 3}) {
    VerifiedReplay both =
        VerifyAndReplay("intake", history, &hasher, {key.get()}, threads);
    ASSERT_TRUE(both.state.ok()) << both.state.status();
    EXPECT_EQ(*both.state, *expected) << threads;
    ASSERT_EQ(both.reports.size(), 5u);
    for (uint32_t p = 0; p < 5; ++p) {
      EXPECT_EQ(both.reports[p].events, reports[p].events);
      EXPECT_EQ(both.reports[p].checkpoints, reports[p].checkpoints);
      EXPECT_TRUE(both.reports[p].violations.empty());
    }
  }
  // A flipped byte in partition 3 is reported there, at its sequence.
  history[3][7].mutable_record()->back() ^= 1;
  VerifiedReplay broken =
      VerifyAndReplay("intake", history, &hasher, {key.get()}, 2);
  ASSERT_FALSE(broken.reports[3].violations.empty());
  EXPECT_EQ(broken.reports[3].violations[0].sequence, 8u);
  EXPECT_EQ(broken.reports[3].violations[0].check, "leaf_hash");
}

}  // namespace
}  // namespace wangge::audit
