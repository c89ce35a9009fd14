// SIGKILL at random moments under load, in `sync` mode, at least 20 times:
// after each restart every acknowledged append is present, no append is
// half there, and every chain, tree and checkpoint verifies.

#include <signal.h>

#include <random>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/testing/subprocess.h"
#include "services/common/testing/test_support.h"

namespace wangge::eventstore {
namespace {

TEST(CrashTest, KilledWriterLosesNoAcknowledgedAppendAndLeavesNoPartialBatch) {
  const std::string dir = testing::MakeTempDir("crash");
  auto signer = *crypto::Signer::Generate(
      common::v1::SIGNATURE_ALGORITHM_ED25519, "crash-key");
  testing::WriteFile(dir + "/key.pem", signer->PrivateKeyPem());
  auto verifier = *crypto::Verifier::FromPem(signer->PublicKeyPem());
  std::mt19937 rng(20261122);
  std::set<uint64_t> acked;
  uint64_t total_checkpoints = 0;
  constexpr int kKills = 24;
  for (int round = 0; round < kKills; ++round) {
    testing::Subprocess child;
    ASSERT_TRUE(
        child
            .Start({"services/common/eventstore/crash_writer", dir + "/store",
                    dir + "/key.pem",
                    std::to_string(uint64_t(round) * 10000000), "16", "sync"})
            .ok());
    ASSERT_TRUE(child.WaitForLine("ready", absl::Seconds(30)).ok());
    // Let it run for a random while, then kill it mid-flight.
    const absl::Time until =
        absl::Now() +
        absl::Milliseconds(std::uniform_int_distribution<>(30, 400)(rng));
    while (absl::Now() < until) {
      auto line = child.ReadLine(until - absl::Now());
      if (!line.ok()) break;
      uint64_t n;
      if (absl::SimpleAtoi(absl::StripPrefix(*line, "ack "), &n))
        acked.insert(n);
    }
    child.Signal(SIGKILL);
    // Acks already in the pipe were acknowledged before the kill.
    while (true) {
      auto line = child.ReadLine(absl::Seconds(2));
      if (!line.ok()) break;
      uint64_t n;
      if (absl::SimpleAtoi(absl::StripPrefix(*line, "ack "), &n))
        acked.insert(n);
    }
    ASSERT_TRUE(child.Wait(absl::Seconds(10)).ok());

    Options o;
    o.service = "crash";
    o.path = dir + "/store";
    o.partitions = 4;
    auto store = EventStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status();
    for (uint64_t n : acked) {
      ASSERT_EQ(*(*store)->StreamVersion(absl::StrCat("pair/", n, "/a")), 1u)
          << n;
      ASSERT_EQ(*(*store)->StreamVersion(absl::StrCat("pair/", n, "/b")), 1u)
          << n;
    }
    // No half pairs anywhere, acknowledged or not.
    std::map<std::string, int> halves;
    for (int p = 0; p < 4; ++p) {
      auto events = (*store)->ReadPartition(p, 1, SIZE_MAX);
      ASSERT_TRUE(events.ok());
      for (const auto& e : *events) {
        auto env = (*store)->Decode(e);
        ASSERT_TRUE(env.ok());
        if (!absl::StartsWith(env->stream_id(), "pair/")) continue;
        std::vector<std::string> parts = absl::StrSplit(env->stream_id(), '/');
        halves[parts[1]] += parts[2] == "a" ? 1 : 2;
      }
      VerifyReport r = (*store)->Verify(p, verifier.get());
      ASSERT_TRUE(r.ok) << "round " << round << " partition " << p << ": "
                        << r.reason << " at " << r.first_bad_sequence;
      total_checkpoints += r.checkpoints;
    }
    for (const auto& [n, mask] : halves) ASSERT_EQ(mask, 3) << "pair " << n;
  }
  EXPECT_GT(acked.size(), 100u);
  EXPECT_GT(total_checkpoints, 0u);
  std::cout << acked.size() << " acknowledged appends over " << kKills
            << " kills\n";
}

}  // namespace
}  // namespace wangge::eventstore
