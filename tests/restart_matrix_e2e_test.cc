// Every service SIGKILLed and restarted in turn, then the broker replaced by
// an empty one, while `wangge load` drives whole lifecycles (report →
// verify → file → dispatch → accept → handled → check → close → follow-up,
// with send-backs and rework) against the stack as separate processes. The
// load generator retries a call with the same request id while its service
// is away, so:
// - every lifecycle it started closes and is followed up (nothing lost);
// - supervision holds exactly as many closed cases as the load counted
//   (nothing applied twice);
// - the audit tool verifies every log (hashes, Merkle roots, signatures,
//   the separation and deadline invariants) and its replay equals every
//   service's projections.

#include <grpcpp/grpcpp.h>

#include <csignal>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/common/testing/subprocess.h"
#include "services/common/testing/test_support.h"
#include "tests/stack.h"
#include "wangge/supervision/v1/supervision.grpc.pb.h"

namespace wangge {
namespace {

namespace sv = supervision::v1;

const std::map<std::string, std::vector<std::string>> kFollows = {
    {"registry", {}},
    {"intake", {"registry"}},
    {"supervision", {"registry", "intake", "dispatch", "oversight"}},
    {"dispatch", {"registry", "supervision", "oversight"}},
    {"oversight", {"registry", "supervision", "dispatch"}},
};
const char* const kServices[] = {"registry", "intake", "supervision",
                                 "dispatch", "oversight"};

// "  closed    123" -> 123 from the load generator's summary.
int64_t Counted(const std::string& output, const std::string& what) {
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    std::vector<absl::string_view> words =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() < 2) continue;
    std::string name;
    for (size_t i = 0; i + 1 < words.size(); ++i)
      absl::StrAppend(&name, name.empty() ? "" : " ", words[i]);
    int64_t n = 0;
    if (name == what && absl::SimpleAtoi(words.back(), &n)) return n;
  }
  return -1;
}

TEST(RestartMatrixE2eTest, LifecyclesSurviveEveryServiceAndTheBrokerDying) {
  testing::Stack stack("restarts");
  stack.StartBroker();
  for (const char* s : kServices) stack.Start(s, kFollows.at(s));
  stack.ImportDemo();
  for (const char* s : kServices) stack.WaitReady(s);

  std::string addrs = "--stack=";
  for (const char* s : kServices)
    absl::StrAppend(&addrs, s, "=", stack.addr(s), ",");
  addrs.pop_back();
  testing::Subprocess load;
  ASSERT_TRUE(load.Start({"services/cli/wangge", "load", "--duration=40s",
                          "--concurrency=6", addrs,
                          "--key_file=" + stack.dir() + "/jwt.key"})
                  .ok());
  std::string output;
  auto read_for = [&](absl::Duration d) {
    const absl::Time until = absl::Now() + d;
    while (absl::Now() < until) {
      auto line = load.ReadLine(until - absl::Now());
      if (!line.ok()) break;
      absl::StrAppend(&output, *line, "\n");
    }
  };
  read_for(absl::Seconds(4));
  for (const char* s : kServices) {
    stack.Kill(s);
    read_for(absl::Milliseconds(500));
    stack.Start(s);
    read_for(absl::Seconds(4));
  }
  stack.RestartBroker();
  while (true) {
    auto line = load.ReadLine(absl::Seconds(240));
    if (!line.ok()) break;
    absl::StrAppend(&output, *line, "\n");
  }
  auto code = load.Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok());
  ASSERT_EQ(*code, 0) << output;
  const int64_t closed = Counted(output, "closed");
  ASSERT_GT(closed, 50) << output;
  EXPECT_EQ(Counted(output, "followed up"), closed) << output;
  EXPECT_GT(Counted(output, "retried while a service was away"), 0)
      << "the restarts went unnoticed:\n"
      << output;

  // Exactly as many closed cases as lifecycles (a retried close or a
  // republished event applied twice would show here).
  auto sup = sv::SupervisionService::NewStub(stack.Channel("supervision"));
  sv::ListCasesRequest q;
  q.set_status(sv::CASE_STATUS_CLOSED);
  q.set_page_size(1000);
  std::set<std::string> cases;
  do {
    auto ctx = testing::Stack::Context(
        testing::DevToken(common::v1::ROLE_SHIFT_LEADER));
    sv::ListCasesResponse page;
    grpc::Status s = sup->ListCases(ctx.get(), q, &page);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const auto& c : page.cases()) cases.insert(c.case_id());
    q.set_page_token(page.next_page_token());
  } while (!q.page_token().empty());
  EXPECT_EQ(static_cast<int64_t>(cases.size()), closed);

  // The auditor: every log verifies, invariants hold, replay equals live.
  std::string sources = "--addr=", keys = "--public_keys=";
  for (const char* s : kServices) {
    absl::StrAppend(&sources, s, "=", stack.addr(s), ",");
    absl::StrAppend(&keys, s, "=", stack.dir(), "/", s,
                    "/signing-key.pub.pem,");
  }
  sources.pop_back();
  keys.pop_back();
  const std::string key = "--key_file=" + stack.dir() + "/jwt.key";
  testing::ToolRun verify =
      testing::RunTool({"services/audit/audit", "verify", sources, keys, key},
                       absl::Seconds(120));
  EXPECT_EQ(verify.code, 0) << verify.output;
  EXPECT_EQ(verify.output.find("separation:"), std::string::npos);
  EXPECT_EQ(verify.output.find("deadline:"), std::string::npos);
  testing::ToolRun replay = testing::RunTool(
      {"services/audit/audit", "replay", sources, key}, absl::Seconds(120));
  EXPECT_EQ(replay.code, 0) << replay.output;
  std::printf("%lld lifecycles closed across %zu kills and a broker restart\n",
              static_cast<long long>(closed), std::size(kServices));
}

}  // namespace
}  // namespace wangge
