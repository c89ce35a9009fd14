#include "services/common/log/log.h"

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace wangge::log {
namespace {

TEST(LogTest, LineIsOneJsonObjectWithFields) {
  std::string line = FormatLine(Level::kWarning, "intake", "rate limited",
                                {{"case_id", "C1"}, {"method", "ReportCase"}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["level"], "warning");
  EXPECT_EQ(json["service"], "intake");
  EXPECT_EQ(json["message"], "rate limited");
  EXPECT_EQ(json["case_id"], "C1");
  EXPECT_EQ(json["method"], "ReportCase");
  EXPECT_TRUE(json.contains("time"));
}

TEST(LogTest, EscapesAndSurvivesBadUtf8) {
  std::string line =
      FormatLine(Level::kInfo, "intake", "quote \" newline \n bad \xff", {});
  auto json = nlohmann::json::parse(line);
  EXPECT_NE(json["message"].get<std::string>().find("newline \n"),
            std::string::npos);
}

TEST(LogTest, WriteRespectsMinLevel) {
  std::FILE* f = std::tmpfile();
  SetSink(f);
  SetService("registry");
  SetMinLevel(Level::kWarning);
  Info("dropped");
  Error("kept", {{"k", "v"}});
  SetSink(stderr);
  std::rewind(f);
  char buf[1024] = {0};
  size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  std::string out(buf, n);
  EXPECT_EQ(out.find("dropped"), std::string::npos);
  auto json = nlohmann::json::parse(out);
  EXPECT_EQ(json["message"], "kept");
  EXPECT_EQ(json["service"], "registry");
}

}  // namespace
}  // namespace wangge::log
