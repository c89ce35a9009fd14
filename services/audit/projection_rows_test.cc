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
    rows.SortByKey();
    ASSERT_EQ(rows.size(), expected.size());
    size_t i = 0;
    for (const auto& [key, row] : expected) {
      ASSERT_EQ(rows[i].first, key) << i;
      ASSERT_EQ(rows[i].second, row) << key;
      ++i;
    }
  }
}

}  // namespace
}  // namespace wangge::audit
