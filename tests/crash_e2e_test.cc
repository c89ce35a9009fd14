// Crash and restart under load, separate processes over the dev broker:
// 1,000 reports in flight from four clients (sync durability), intake and
// then supervision SIGKILLed mid-stream and restarted on their data, then
// the broker replaced by an empty one. Every
// acknowledged report becomes exactly one case file, the retried ones
// included, and the audit tool's replay equals both services' projections.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "services/common/testing/subprocess.h"
#include "services/common/testing/test_support.h"
#include "tests/stack.h"
#include "wangge/intake/v1/intake.grpc.pb.h"
#include "wangge/supervision/v1/supervision.grpc.pb.h"

namespace wangge {
namespace {

namespace sv = supervision::v1;

constexpr int kClients = 4;
constexpr int kPerClient = 250;

TEST(CrashE2eTest, AcknowledgedReportsBecomeOneCaseEachAcrossKills) {
  testing::Stack stack("crash");
  stack.StartBroker();
  stack.Start("registry");
  stack.Start("intake", {"registry"});
  stack.Start("supervision", {"registry", "intake"});
  stack.ImportDemo();
  stack.WaitReady("intake");
  stack.WaitReady("supervision");

  absl::Mutex mu;
  std::map<std::string, std::string> acknowledged;  // request id -> case id
  std::atomic<int> acks{0}, retries{0};
  std::atomic<bool> abort{false};  // a restart failed: stop, do not hang
  auto token_of = [](int c) {
    return testing::DevToken(common::v1::ROLE_CHANNEL, {"*"},
                             absl::StrCat("gateway-", c), "", "app");
  };
  auto request_of = [](int c, int i) {
    intake::v1::ReportCaseRequest r;
    r.set_request_id(absl::StrCat("c", c, "-", i));
    r.set_category_code("event/01/0102");
    r.set_description("暴露垃圾");
    auto* p = r.mutable_location()->mutable_point();
    p->set_longitude(116.405 + 0.0001 * (i % 50));
    p->set_latitude(39.93);
    p->set_coordinate_system(common::v1::COORDINATE_SYSTEM_WGS84);
    return r;
  };
  auto client = [&](int c) {
    const std::string token = token_of(c);
    for (int i = 0; i < kPerClient; ++i) {
      const intake::v1::ReportCaseRequest r = request_of(c, i);
      // Retried with the same request id until acknowledged: intake may be
      // down, or have died after writing but before answering.
      for (int attempt = 0; attempt < 600 && !abort.load(); ++attempt) {
        auto stub = intake::v1::IntakeService::NewStub(stack.Channel("intake"));
        auto ctx = testing::Stack::Context(token);
        ctx->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(5));
        intake::v1::ReportCaseResponse resp;
        grpc::Status s = stub->ReportCase(ctx.get(), r, &resp);
        if (s.ok()) {
          absl::MutexLock lock(&mu);
          if (acknowledged.emplace(r.request_id(), resp.case_id()).second) {
            ++acks;
          }
          break;
        }
        ++retries;
        absl::SleepFor(absl::Milliseconds(100));
      }
    }
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) clients.emplace_back(client, c);

  // Kill intake mid-stream, then supervision; each comes back on its data.
  auto stop_if_failed = [&] {
    if (!::testing::Test::HasFatalFailure()) return false;
    abort = true;
    for (auto& t : clients) t.join();
    return true;
  };
  while (acks.load() < 300) absl::SleepFor(absl::Milliseconds(5));
  stack.Kill("intake");
  absl::SleepFor(absl::Milliseconds(500));
  stack.Start("intake");
  if (stop_if_failed()) return;
  while (acks.load() < 600) absl::SleepFor(absl::Milliseconds(5));
  stack.Kill("supervision");
  absl::SleepFor(absl::Milliseconds(500));
  stack.Start("supervision");
  if (stop_if_failed()) return;
  // And the broker: a fresh one with none of the history.
  while (acks.load() < 800) absl::SleepFor(absl::Milliseconds(5));
  stack.RestartBroker();
  if (stop_if_failed()) return;
  for (auto& t : clients) t.join();
  ASSERT_EQ(acks.load(), kClients * kPerClient);
  std::set<std::string> cases;
  for (const auto& [request, case_id] : acknowledged) cases.insert(case_id);
  ASSERT_EQ(cases.size(), static_cast<size_t>(kClients * kPerClient));

  // Supervision opened one case file per acknowledged report, no more.
  auto sup = sv::SupervisionService::NewStub(stack.Channel("supervision"));
  std::set<std::string> opened;
  for (int round = 0; round < 600; ++round) {
    opened.clear();
    sv::ListCasesRequest q;
    q.set_page_size(1000);
    do {
      auto ctx = testing::Stack::Context(
          testing::DevToken(common::v1::ROLE_SHIFT_LEADER));
      sv::ListCasesResponse page;
      if (!sup->ListCases(ctx.get(), q, &page).ok()) break;
      for (const auto& c : page.cases()) opened.insert(c.case_id());
      q.set_page_token(page.next_page_token());
    } while (!q.page_token().empty());
    if (opened.size() >= cases.size()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(opened, cases);

  // Every acknowledged report sent again, after all the kills: the first
  // case each time, never a new one.
  int resent = 0;
  for (int c = 0; c < kClients; ++c) {
    const std::string token = token_of(c);
    auto stub = intake::v1::IntakeService::NewStub(stack.Channel("intake"));
    for (int i = 0; i < kPerClient; ++i) {
      const intake::v1::ReportCaseRequest r = request_of(c, i);
      intake::v1::ReportCaseResponse resp;
      grpc::Status s;
      for (int attempt = 0; attempt < 100; ++attempt) {  // a rate limit
        auto ctx = testing::Stack::Context(token);
        s = stub->ReportCase(ctx.get(), r, &resp);
        if (s.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) break;
        absl::SleepFor(absl::Milliseconds(100));
      }
      ASSERT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(resp.case_id(), acknowledged[r.request_id()]) << r.request_id();
      ++resent;
    }
  }
  EXPECT_EQ(resent, kClients * kPerClient);

  // The auditor's replay of both logs equals what the services hold.
  testing::ToolRun replay = testing::RunTool(
      {"services/audit/audit", "replay",
       absl::StrCat("--addr=intake=", stack.addr("intake"),
                    ",supervision=", stack.addr("supervision")),
       "--key_file=" + stack.dir() + "/jwt.key"},
      absl::Seconds(60));
  EXPECT_EQ(replay.code, 0) << replay.output;
  std::printf("acknowledged %d reports with %d retries across three kills\n",
              acks.load(), retries.load());
}

}  // namespace
}  // namespace wangge
