#include "services/audit/projection_rows.h"

#include <map>
#include <string>

#include "gtest/gtest.h"

namespace wangge::audit {
namespace {

std::map<std::string, std::string> AsMap(const ProjectionRows& rows) {
  std::map<std::string, std::string> out;
  for (const auto& [key, row] : rows) out[std::string(key)] = std::string(row);
  return out;
}

// Rows keep their bytes across blocks (a row larger than a block included),
// moves between instances and copies.
TEST(ProjectionRowsTest, RowsSurviveBlocksAbsorbAndCopy) {
  ProjectionRows a, b;
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 3000; ++i) {
    std::string key = "k" + std::to_string(i);
    std::string row(i % 7 == 0 ? 5000 : 40, static_cast<char>('a' + i % 26));
    row += std::to_string(i);
    (i % 2 == 0 ? a : b).Append(key, row);
    expected[key] = row;
  }
  const std::string huge(9 << 20, 'z');  // over the 4 MiB block
  b.Append("huge", huge);
  expected["huge"] = huge;
  a.Absorb(std::move(b));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(a.size(), expected.size());
  EXPECT_EQ(AsMap(a), expected);
  ProjectionRows copy = a;
  EXPECT_EQ(copy, a);
  copy.Append("one more", "row");
  EXPECT_NE(copy, a);
}

// Sorting orders by whole keys (shared 16-byte prefixes, embedded NULs,
// prefixes of each other) and keeps the last row of a repeated key.
TEST(ProjectionRowsTest, SortByKeyKeepsTheLastRowOfAKey) {
  for (const int n : {9, 120000}) {
    ProjectionRows rows;
    std::map<std::string, std::string> expected;
    auto add = [&](const std::string& key, const std::string& row) {
      rows.Append(key, row);
      expected[key] = row;
    };
    add("C20261122-0000001", "a");
    add("C20261122-00000010", "b");
    add(std::string("C20261122-0000001\0x", 19), "c");
    add("", "empty key");
    for (int i = 0; i < n; ++i)
      add("C20261122-" + std::to_string((i * 7919) % n), std::to_string(i));
    add("C20261122-0000001", "later");
    EXPECT_FALSE(rows.sorted());
    rows.SortByKey();
    const ProjectionRows copy = rows;  // a copy of sorted rows is sorted
    EXPECT_TRUE(copy.sorted());
    ASSERT_EQ(rows.size(), expected.size());
    size_t i = 0;
    for (const auto& [key, row] : expected) {
      ASSERT_EQ(rows[i].first, key) << i;
      ASSERT_EQ(rows[i].second, row) << key;
      ++i;
    }
  }
}

// Shares sorted apart (a replay's workers) merge into key order; a key both
// hold keeps the absorbed share's row, as appending and sorting would.
TEST(ProjectionRowsTest, SortedSharesMergeAsAppendingThenSortingWould) {
  for (const int n : {5, 50000}) {
    ProjectionRows merged, appended;
    ProjectionRows first, second;
    for (int i = 0; i < n; ++i) {
      const std::string key = "case-" + std::to_string((i * 31) % n);
      ProjectionRows& share = i % 3 == 0 ? second : first;
      share.Append(key, "row " + std::to_string(i));
    }
    first.Append("case-both", "first's");
    second.Append("case-both", "second's");
    appended = first;
    ProjectionRows second_copy = second;
    appended.Absorb(std::move(second_copy));
    EXPECT_FALSE(appended.sorted());
    appended.SortByKey();

    first.SortByKey(/*threads=*/1);
    second.SortByKey(/*threads=*/1);
    ASSERT_TRUE(first.sorted() && second.sorted());
    merged.Absorb(std::move(first));  // into an empty one: stays sorted
    EXPECT_TRUE(merged.sorted());
    merged.Absorb(std::move(second));
    EXPECT_TRUE(merged.sorted());
    EXPECT_EQ(merged, appended) << n;
    EXPECT_EQ(AsMap(merged).at("case-both"), "second's");
  }
}

}  // namespace
}  // namespace wangge::audit
