#include "services/common/files/gzip.h"

#include <zlib.h>

#include "gtest/gtest.h"

namespace wangge::files {
namespace {

TEST(GzipTest, RoundTripsWhatZlibReadsToo) {
  std::string text;
  for (int i = 0; i < 200000; ++i) text += "[104.0625,30.6625],";
  const std::string packed = *Gzip(text);
  EXPECT_LT(packed.size(), text.size() / 20);
  // A gzip member (magic 1f 8b, deflate), as gzip(1) writes.
  ASSERT_GE(packed.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(packed[1]), 0x8b);
  EXPECT_EQ(packed[2], 8);
  auto back = Gunzip(packed, text.size());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, text);
  EXPECT_EQ(*Gunzip(*Gzip(""), 0), "");
}

TEST(GzipTest, RefusesWhatIsNotOneWholeStream) {
  const std::string packed = *Gzip("a deployment");
  for (const std::string& bad :
       {std::string("{\"areas\": []}"), packed.substr(0, packed.size() - 3),
        packed + "x", std::string()}) {
    auto r = Gunzip(bad, 1 << 20);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << bad.size();
  }
  std::string flipped = packed;
  flipped[packed.size() / 2] ^= 0x5a;
  EXPECT_FALSE(Gunzip(flipped, 1 << 20).ok());
}

// A small input can inflate a thousandfold: inflation stops at the cap
// instead of allocating whatever the stream asks for.
TEST(GzipTest, StopsAtTheCap) {
  const std::string zeros(64 << 20, '\0');
  const std::string bomb = *Gzip(zeros);
  EXPECT_LT(bomb.size(), 100u << 10);
  auto r = Gunzip(bomb, 1 << 20);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("more than 1048576"), std::string::npos);
  EXPECT_EQ(Gunzip(bomb, zeros.size())->size(), zeros.size());
}

}  // namespace
}  // namespace wangge::files
