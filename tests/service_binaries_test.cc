// Each service binary, as a separate process: starts from environment
// configuration, answers health and EventLog over loopback, stops on
// SIGTERM with exit 0, and keeps the checkpoint key it generated across a
// restart (restart_matrix_e2e_test restarts each one on its data mid-flow).
// Bad configuration names the setting and exits 2.

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/common/testing/subprocess.h"
#include "services/common/testing/test_support.h"
#include "wangge/common/v1/eventlog.grpc.pb.h"

namespace wangge {
namespace {

class ServiceBinaryTest : public ::testing::TestWithParam<std::string> {};

std::map<std::string, std::string> Env(const std::string& dir) {
  return {{"LISTEN", "127.0.0.1:0"},
          {"METRICS_LISTEN", ""},
          {"PLAINTEXT", "true"},
          {"DATA_DIR", dir + "/data"},
          {"JWT_KEY_FILE", dir + "/jwt.key"},
          {"PARTITIONS", "4"},
          {"LOG_LEVEL", "warning"}};
}

TEST_P(ServiceBinaryTest, StartsServesStopsAndRestartsOnItsData) {
  const std::string service = GetParam();
  const std::string dir = testing::MakeTempDir(service);
  testing::WriteFile(dir + "/jwt.key", testing::kDevSecret);
  const std::string binary = "services/" + service + "/" + service;
  std::string first_key;
  for (int run = 0; run < 2; ++run) {
    testing::Subprocess process;
    ASSERT_TRUE(process.Start({binary}, Env(dir)).ok());
    auto address = process.WaitForLine("listening ", absl::Seconds(30));
    ASSERT_TRUE(address.ok()) << address.status();
    {
      // Closed before SIGTERM: an idle connection nobody polls would hold the
      // server's graceful GOAWAY for its 5 s ping timeout.
      auto channel =
          grpc::CreateChannel(*address, grpc::InsecureChannelCredentials());

      grpc::ClientContext hctx;
      ::grpc::health::v1::HealthCheckRequest hreq;
      hreq.set_service("readiness");
      ::grpc::health::v1::HealthCheckResponse hresp;
      ASSERT_TRUE(::grpc::health::v1::Health::NewStub(channel)
                      ->Check(&hctx, hreq, &hresp)
                      .ok());
      EXPECT_EQ(hresp.status(),
                ::grpc::health::v1::HealthCheckResponse::SERVING);

      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization",
                      "Bearer " + testing::DevToken(common::v1::ROLE_AUDITOR));
      common::v1::GetLogHeadsResponse heads;
      grpc::Status s = common::v1::EventLog::NewStub(channel)->GetLogHeads(
          &ctx, common::v1::GetLogHeadsRequest(), &heads);
      ASSERT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(heads.service(), service);
      EXPECT_EQ(heads.heads_size(), 4);
    }

    process.Signal(SIGTERM);
    auto code = process.Wait(absl::Seconds(30));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 0);
    // The checkpoint key generated on the first start is kept with the
    // data: the second start uses the same one (checkpoints stay verifiable
    // under one key id).
    std::ifstream in(dir + "/data/signing-key.pem");
    const std::string key((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
    EXPECT_NE(key.find("PRIVATE KEY"), std::string::npos);
    if (run == 0) {
      first_key = key;
    } else {
      EXPECT_EQ(key, first_key);
    }
    // What the service wrote is not world-readable (umask 027).
    for (const std::string& file :
         {dir + "/data/store/CURRENT", dir + "/data/signing-key.pem"}) {
      struct stat st;
      ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
      EXPECT_EQ(st.st_mode & 07, 0u) << file;
    }
  }

  // Bad configuration names the setting and exits 2.
  testing::Subprocess bad;
  auto env = Env(dir);
  env["DURABILITY"] = "eventually";
  ASSERT_TRUE(
      bad.Start({"/bin/sh", "-c", "exec " + binary + " 2>&1"}, env).ok());
  std::string output;
  while (true) {
    auto line = bad.ReadLine(absl::Seconds(30));
    if (!line.ok()) break;
    output += *line + "\n";
  }
  EXPECT_NE(output.find("durability"), std::string::npos) << output;
  auto code = bad.Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 2);
}

// Supervision's evaluation weights come from --evaluation_file: a valid
// file is taken, a bad one refuses the start.
TEST(SupervisionBinaryTest, EvaluationFileIsReadAndValidated) {
  const std::string dir = testing::MakeTempDir("evaluation");
  testing::WriteFile(dir + "/jwt.key", testing::kDevSecret);
  testing::WriteFile(
      dir + "/good.json",
      R"({"department": {"closure": 0.5}, "area": {"rework": 0}})");
  testing::WriteFile(dir + "/bad.json", R"({"area": {"handling": -1}})");
  auto env = Env(dir);
  env["EVALUATION_FILE"] = dir + "/good.json";
  testing::Subprocess good;
  ASSERT_TRUE(good.Start({"services/supervision/supervision"}, env).ok());
  EXPECT_TRUE(good.WaitForLine("listening ", absl::Seconds(30)).ok());
  good.Signal(SIGTERM);
  auto stopped = good.Wait(absl::Seconds(30));
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(*stopped, 0);

  env["EVALUATION_FILE"] = dir + "/bad.json";
  env["DATA_DIR"] = dir + "/bad-data";
  testing::Subprocess bad;
  ASSERT_TRUE(bad.Start({"services/supervision/supervision"}, env).ok());
  EXPECT_FALSE(bad.WaitForLine("listening ", absl::Seconds(30)).ok());
  auto code = bad.Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_NE(*code, 0);
}

INSTANTIATE_TEST_SUITE_P(AllServices, ServiceBinaryTest,
                         ::testing::Values("intake", "supervision", "dispatch",
                                           "oversight", "registry"));

}  // namespace
}  // namespace wangge
