#include "services/common/eventlog/eventlog_service.h"

#include <grpcpp/grpcpp.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/merkle/merkle.h"
#include "services/common/status/errors.h"
#include "services/common/status/grpc_status.h"
#include "services/common/testing/test_support.h"

namespace wangge::eventlog {
namespace {

using wangge::common::v1::EventLog;
using wangge::common::v1::ROLE_ADMINISTRATOR;
using wangge::common::v1::ROLE_AUDITOR;
using wangge::common::v1::ROLE_CHANNEL;
using wangge::common::v1::ROLE_SERVICE_DISPATCH;
using wangge::common::v1::ROLE_SERVICE_REGISTRY;
using wangge::common::v1::ROLE_SERVICE_SUPERVISION;

class EventLogServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("eventlog");
    eventstore::Options o;
    o.service = "intake";
    o.path = dir_ + "/store";
    o.partitions = 2;
    o.signer =
        *crypto::Signer::Generate(common::v1::SIGNATURE_ALGORITHM_ED25519, "k");
    verifier_ = *crypto::Verifier::FromPem(o.signer->PublicKeyPem());
    o.checkpoint_every_events = 1000000;
    store_ = *eventstore::EventStore::Open(o);
    chassis_ = std::make_unique<server::Chassis>(
        testing::LoopbackConfig("intake", dir_), Clock::Real());
    service_ = std::make_unique<EventLogService>(
        chassis_.get(), store_.get(), std::vector<std::string>{"cases"});
    ASSERT_TRUE(chassis_->Init().ok());
    ASSERT_TRUE(chassis_->Register<EventLog>(service_.get()).ok());
    ASSERT_TRUE(chassis_->Start().ok());
    stub_ = EventLog::NewStub(grpc::CreateChannel(
        chassis_->address(), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { chassis_->Shutdown(); }

  void Append(int n, uint32_t partition) {
    for (int i = 0, made = 0; made < n; ++i) {
      std::string stream = absl::StrCat("case/", next_++);
      if (store_->PartitionOf(stream) != partition) continue;
      eventstore::AppendRequest r;
      eventstore::StreamAppend sa;
      sa.stream_id = stream;
      common::v1::Position payload;
      payload.set_sequence(made);
      sa.events.push_back(eventstore::MakeEvent(payload));
      r.streams.push_back(sa);
      r.projection_writes.push_back({"cases", stream, "open"});
      ASSERT_TRUE(store_->Append(r).ok());
      ++made;
    }
  }

  std::unique_ptr<grpc::ClientContext> Ctx(
      common::v1::Role role = ROLE_AUDITOR) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + testing::DevToken(role));
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(20));
    return ctx;
  }

  std::string dir_;
  int next_ = 0;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<crypto::Verifier> verifier_;
  std::unique_ptr<server::Chassis> chassis_;
  std::unique_ptr<EventLogService> service_;
  std::unique_ptr<EventLog::Stub> stub_;
};

TEST_F(EventLogServiceTest, ReadLogStreamsTheWholePartitionInOrder) {
  Append(1500, 1);
  auto ctx = Ctx(ROLE_SERVICE_SUPERVISION);  // follows intake
  common::v1::ReadLogRequest request;
  request.set_partition(1);
  auto reader = stub_->ReadLog(ctx.get(), request);
  common::v1::ReadLogResponse batch;
  uint64_t expect = 1;
  while (reader->Read(&batch)) {
    for (const auto& e : batch.events()) {
      common::v1::EventEnvelope env;
      ASSERT_TRUE(env.ParseFromString(e.record()));
      ASSERT_EQ(env.sequence(), expect++);
    }
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(expect, 1501u);
}

// A whole log (every area's events) goes to the services that follow it and
// to people whose scope is the whole city; not to a district's
// administrator, nor to a service that does not follow this log.
TEST_F(EventLogServiceTest, ReadLogOnlyToFollowersAndTheWholeCitysScope) {
  Append(3, 0);
  auto read = [&](const std::string& token) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    common::v1::ReadLogRequest request;
    request.set_partition(0);
    auto reader = stub_->ReadLog(&ctx, request);
    common::v1::ReadLogResponse batch;
    while (reader->Read(&batch)) {
    }
    return status::FromGrpcStatus(reader->Finish());
  };
  EXPECT_EQ(status::DeniedRule(
                read(testing::DevToken(ROLE_ADMINISTRATOR, {"110101"}))),
            "area_scope");
  EXPECT_EQ(status::DeniedRule(read(testing::DevToken(ROLE_SERVICE_REGISTRY))),
            "log_follower_only");
  EXPECT_EQ(status::DeniedRule(read(testing::DevToken(ROLE_SERVICE_DISPATCH))),
            "log_follower_only");
  EXPECT_TRUE(read(testing::DevToken(ROLE_AUDITOR)).ok());
  EXPECT_TRUE(read(testing::DevToken(ROLE_SERVICE_SUPERVISION)).ok());
}

TEST_F(EventLogServiceTest, ReadLogFollowSendsNewAppends) {
  Append(3, 0);
  auto ctx = Ctx();
  common::v1::ReadLogRequest request;
  request.set_partition(0);
  request.set_from_sequence(3);
  request.set_follow(true);
  auto reader = stub_->ReadLog(ctx.get(), request);
  common::v1::ReadLogResponse batch;
  ASSERT_TRUE(reader->Read(&batch));
  EXPECT_EQ(batch.events_size(), 1);
  std::thread appender([&] {
    absl::SleepFor(absl::Milliseconds(100));
    Append(2, 0);
  });
  int more = 0;
  while (more < 2 && reader->Read(&batch)) more += batch.events_size();
  appender.join();
  EXPECT_EQ(more, 2);
  ctx->TryCancel();
  reader->Finish();
}

TEST_F(EventLogServiceTest, ProofsAndCheckpointsVerifyOverTheWire) {
  Append(20, 0);
  ASSERT_TRUE(store_->CheckpointNow().ok());
  auto ctx = Ctx(ROLE_CHANNEL);
  common::v1::GetCheckpointRequest creq;
  common::v1::Checkpoint checkpoint;
  ASSERT_TRUE(stub_->GetCheckpoint(ctx.get(), creq, &checkpoint).ok());
  EXPECT_EQ(checkpoint.tree_size(), 20u);
  // Signed by the store's key, not merely well-formed.
  EXPECT_TRUE(crypto::VerifyCheckpoint(*verifier_, checkpoint).ok());
  common::v1::GetInclusionProofRequest ireq;
  ireq.set_leaf_index(7);
  common::v1::InclusionProof proof;
  ASSERT_TRUE(
      stub_->GetInclusionProof(Ctx(ROLE_CHANNEL).get(), ireq, &proof).ok());
  std::vector<std::string> hashes(proof.hashes().begin(), proof.hashes().end());
  // The leaf is the stored event's (index 7 is sequence 8), the tree the
  // checkpoint's: a self-consistent proof of another leaf would not do.
  auto stored = store_->ReadPartition(0, 8, 1);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ(proof.leaf_hash(), (*stored)[0].leaf_hash());
  EXPECT_EQ(proof.tree_size(), checkpoint.tree_size());
  EXPECT_TRUE(merkle::VerifyInclusion(store_->hasher(), 7, proof.tree_size(),
                                      (*stored)[0].leaf_hash(), hashes,
                                      checkpoint.merkle_root())
                  .ok());
  // A wrong leaf does not verify against the same proof.
  EXPECT_FALSE(merkle::VerifyInclusion(store_->hasher(), 7, proof.tree_size(),
                                       std::string(32, '\0'), hashes,
                                       checkpoint.merkle_root())
                   .ok());
  Append(5, 0);
  ASSERT_TRUE(store_->CheckpointNow().ok());
  common::v1::Checkpoint newer;
  ASSERT_TRUE(stub_->GetCheckpoint(Ctx().get(), creq, &newer).ok());
  EXPECT_TRUE(crypto::VerifyCheckpoint(*verifier_, newer).ok());
  common::v1::GetConsistencyProofRequest kreq;
  kreq.set_first_size(checkpoint.tree_size());
  kreq.set_second_size(newer.tree_size());
  common::v1::ConsistencyProof consistency;
  ASSERT_TRUE(stub_->GetConsistencyProof(Ctx().get(), kreq, &consistency).ok());
  std::vector<std::string> c(consistency.hashes().begin(),
                             consistency.hashes().end());
  EXPECT_TRUE(merkle::VerifyConsistency(
                  store_->hasher(), checkpoint.tree_size(), newer.tree_size(),
                  checkpoint.merkle_root(), newer.merkle_root(), c)
                  .ok());
}

TEST_F(EventLogServiceTest, HeadsDigestsAndBadPartition) {
  Append(4, 0);
  Append(6, 1);
  common::v1::GetLogHeadsResponse heads;
  ASSERT_TRUE(stub_->GetLogHeads(Ctx().get(), {}, &heads).ok());
  ASSERT_EQ(heads.heads_size(), 2);
  EXPECT_EQ(heads.heads(0), 4u);
  EXPECT_EQ(heads.heads(1), 6u);
  common::v1::StateDigest digest;
  ASSERT_TRUE(stub_->GetStateDigest(Ctx().get(), {}, &digest).ok());
  ASSERT_EQ(digest.projections_size(), 1);
  EXPECT_EQ(digest.projections(0).rows(), 10u);
  EXPECT_EQ(digest.projections(0).digest(),
            store_->ProjectionDigest("cases")->first);
  common::v1::GetCheckpointRequest bad;
  bad.set_partition(9);
  common::v1::Checkpoint ignored;
  EXPECT_EQ(stub_->GetCheckpoint(Ctx().get(), bad, &ignored).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A channel may fetch proofs but not digests.
  EXPECT_EQ(
      stub_->GetStateDigest(Ctx(ROLE_CHANNEL).get(), {}, &digest).error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace wangge::eventlog
