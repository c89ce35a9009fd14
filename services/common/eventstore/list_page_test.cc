#include "services/common/eventstore/list_page.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "services/common/status/errors.h"
#include "services/common/testing/test_support.h"

namespace wangge::eventstore {
namespace {

// Rows "row/000".."row/099" with their number as value, and one row under
// another prefix that a prefixed listing must not see.
class ListPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Options o;
    o.service = "intake";
    o.path = testing::MakeTempDir("list_page");
    o.partitions = 2;
    auto store = EventStore::Open(std::move(o));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
    AppendRequest r;
    for (int i = 0; i < 100; ++i) {
      r.projection_writes.push_back(
          {"things", absl::StrFormat("row/%03d", i), absl::StrCat(i)});
    }
    r.projection_writes.push_back({"things", "zzz/0", "0"});
    ASSERT_TRUE(store_->Append(std::move(r)).ok());
  }

  // Lists every page from the start; `calls` counts them and `most` is the
  // largest number of rows one call examined.
  std::vector<int> ListAll(ListPageRequest request, int divisor, int* calls,
                           size_t* most) {
    std::vector<int> all;
    *calls = 0;
    *most = 0;
    do {
      size_t examined = 0;
      auto page = ReadListPage<int>(
          *store_, request,
          [&](const std::string&,
              const std::string& value) -> absl::StatusOr<std::optional<int>> {
            ++examined;
            int n = 0;
            EXPECT_TRUE(absl::SimpleAtoi(value, &n));
            if (n % divisor != 0) return std::nullopt;
            return n;
          });
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      ++*calls;
      *most = std::max(*most, examined);
      EXPECT_LE(page->rows.size(),
                static_cast<size_t>(
                    request.page_size == 0 ? 100 : request.page_size));
      all.insert(all.end(), page->rows.begin(), page->rows.end());
      request.page_token = page->next_page_token;
    } while (!request.page_token.empty() && *calls < 1000);
    return all;
  }

  std::unique_ptr<EventStore> store_;
};

std::vector<int> Multiples(int divisor) {
  std::vector<int> out;
  for (int i = 0; i < 100; i += divisor) out.push_back(i);
  return out;
}

TEST_F(ListPageTest, PagesJoinToEveryMatchOnceWithNoEmptyLastPage) {
  ListPageRequest request;
  request.projection = "things";
  request.prefix = "row/";
  request.page_size = 10;
  int calls = 0;
  size_t most = 0;
  // 50 even rows in pages of 10: five full pages, the fifth without a token
  // (no match follows it), so no sixth call.
  EXPECT_EQ(ListAll(request, 2, &calls, &most), Multiples(2));
  EXPECT_EQ(calls, 5);
  // 34 multiples of 3: three full pages and a fourth of four.
  EXPECT_EQ(ListAll(request, 3, &calls, &most), Multiples(3));
  EXPECT_EQ(calls, 4);
}

TEST_F(ListPageTest, ARareMatchCostsEachCallOnlyItsBudget) {
  ListPageRequest request;
  request.projection = "things";
  request.prefix = "row/";
  request.page_size = 10;
  request.scan_budget = 7;
  int calls = 0;
  size_t most = 0;
  // Four matches among 100 rows: each call looks at 7 rows at most and
  // answers (often with nothing) and a token; none is lost or repeated.
  EXPECT_EQ(ListAll(request, 25, &calls, &most), Multiples(25));
  EXPECT_EQ(most, 7u);
  EXPECT_EQ(calls, 15);  // ceil(100 / 7)

  // A page that fills within the budget ends at its last row as usual.
  request.scan_budget = 1000;
  EXPECT_EQ(ListAll(request, 25, &calls, &most), Multiples(25));
  EXPECT_EQ(calls, 1);
}

TEST_F(ListPageTest, AnEmptyPrefixSeesEveryRowAndTheTokenResumesAfterIt) {
  ListPageRequest request;
  request.projection = "things";
  request.page_size = 1000;
  int calls = 0;
  size_t most = 0;
  std::vector<int> all = ListAll(request, 1, &calls, &most);
  EXPECT_EQ(all.size(), 101u);  // and "zzz/0"
  request.page_token = "row/097";
  EXPECT_EQ(ListAll(request, 1, &calls, &most), (std::vector<int>{98, 99, 0}));
}

TEST_F(ListPageTest, RefusesANegativePageSizeAndPassesSelectErrorsOn) {
  ListPageRequest request;
  request.projection = "things";
  request.page_size = -1;
  auto select = [](const std::string& key,
                   const std::string&) -> absl::StatusOr<std::optional<int>> {
    if (key == "row/005") return absl::DataLossError("row/005 is not a row");
    return 1;
  };
  auto bad = ReadListPage<int>(*store_, request, select);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status::ViolatedField(bad.status()), "page_size");

  request.page_size = 0;
  auto broken = ReadListPage<int>(*store_, request, select);
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(broken.status().message(), "row/005 is not a row");
}

}  // namespace
}  // namespace wangge::eventstore
