// SIGTERM drains: a call in flight when the signal arrives completes, the
// shutdown hooks run, new calls are refused meanwhile and the process exits
// 0.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/files/files.h"
#include "services/common/testing/subprocess.h"
#include "services/common/testing/test_support.h"
#include "wangge/testing/v1/echo.grpc.pb.h"

namespace wangge::server {
namespace {

using wangge::common::v1::ROLE_SHIFT_LEADER;
using wangge::testing::v1::EchoRequest;
using wangge::testing::v1::EchoResponse;
using wangge::testing::v1::EchoService;

TEST(ShutdownTest, SigtermDrainsInFlightCallAndExitsZero) {
  const std::string dir = wangge::testing::MakeTempDir("shutdown");
  wangge::testing::WriteFile(dir + "/jwt.key", wangge::testing::kDevSecret);
  wangge::testing::Subprocess server;
  // Configuration through the environment, as a Kubernetes pod would.
  ASSERT_TRUE(server
                  .Start({"services/common/server/echo_server"},
                         {{"LISTEN", "127.0.0.1:0"},
                          {"PLAINTEXT", "true"},
                          {"METRICS_LISTEN", ""},
                          {"JWT_KEY_FILE", dir + "/jwt.key"},
                          {"DRAIN_TIMEOUT", "10s"}})
                  .ok());
  auto port = server.WaitForLine("port ", absl::Seconds(30));
  ASSERT_TRUE(port.ok()) << port.status();
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port),
                                     grpc::InsecureChannelCredentials());
  auto stub = EchoService::NewStub(channel);
  const std::string token = wangge::testing::DevToken(ROLE_SHIFT_LEADER);

  grpc::Status slow_status;
  EchoResponse slow_response;
  std::thread slow([&] {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    EchoRequest request;
    request.set_message("in flight");
    request.set_delay_ms(1500);
    request.mutable_area()->set_code("11");
    slow_status = stub->Echo(&ctx, request, &slow_response);
  });
  // Let the slow call reach the handler before the signal.
  absl::SleepFor(absl::Milliseconds(500));
  server.Signal(SIGTERM);
  // While the slow call drains, a new call is refused.
  absl::SleepFor(absl::Milliseconds(300));
  {
    auto fresh = grpc::CreateChannel(absl::StrCat("127.0.0.1:", *port),
                                     grpc::InsecureChannelCredentials());
    grpc::ClientContext during;
    during.AddMetadata("authorization", "Bearer " + token);
    during.set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(500));
    EchoRequest request;
    request.mutable_area()->set_code("11");
    EchoResponse response;
    grpc::Status refused =
        EchoService::NewStub(fresh)->Echo(&during, request, &response);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE)
        << refused.error_message();
  }
  slow.join();
  EXPECT_TRUE(slow_status.ok()) << slow_status.error_message();
  EXPECT_EQ(slow_response.message(), "in flight");

  auto hook = server.WaitForLine("hook ran", absl::Seconds(10));
  EXPECT_TRUE(hook.ok()) << hook.status();
  auto code = server.Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

// A crash names its signal and where it happened on stderr (the log an
// operator reads), then dies of that signal.
TEST(ShutdownTest, CrashLogsTheSignalAndStack) {
  const std::string dir = wangge::testing::MakeTempDir("crash");
  wangge::testing::WriteFile(dir + "/jwt.key", wangge::testing::kDevSecret);
  wangge::testing::Subprocess server;
  ASSERT_TRUE(server
                  .Start({"/bin/sh", "-c",
                          absl::StrCat("exec services/common/server/echo_server"
                                       " 2>",
                                       dir, "/stderr")},
                         {{"LISTEN", "127.0.0.1:0"},
                          {"PLAINTEXT", "true"},
                          {"METRICS_LISTEN", ""},
                          {"JWT_KEY_FILE", dir + "/jwt.key"}})
                  .ok());
  auto port = server.WaitForLine("port ", absl::Seconds(30));
  ASSERT_TRUE(port.ok()) << port.status();
  server.Signal(SIGSEGV);
  auto code = server.Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 128 + SIGSEGV);
  const std::string stderr_text =
      files::ReadFileToString(dir + "/stderr").value_or("");
  EXPECT_NE(stderr_text.find("*** SIGSEGV received"), std::string::npos)
      << stderr_text;
  EXPECT_NE(stderr_text.find("@ "), std::string::npos) << stderr_text;
}

}  // namespace
}  // namespace wangge::server
