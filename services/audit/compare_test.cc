#include "services/audit/compare.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace wangge::audit {
namespace {

common::v1::StoredEvent Event(uint64_t sequence, const std::string& body) {
  common::v1::EventEnvelope env;
  env.set_sequence(sequence);
  env.set_stream_id(body);
  common::v1::StoredEvent e;
  e.set_record(env.SerializeAsString());
  e.set_leaf_hash(absl::StrCat("leaf", sequence));
  e.set_chain_hash(absl::StrCat("chain", sequence));
  return e;
}

TEST(SourceComparerTest, IdenticalSourcesHaveNoDifferences) {
  SourceComparer c;
  for (uint64_t s = 1; s <= 50; ++s) {
    c.AddLeft("intake", s % 2, Event(s, "case/a"));
    c.AddRight("intake", s % 2, Event(s, "case/a"));
  }
  EXPECT_TRUE(c.Finish().empty());
  EXPECT_EQ(c.left_events(), 50u);
  EXPECT_EQ(c.right_events(), 50u);
}

TEST(SourceComparerTest, EachKindOfDifferenceIsReportedAtItsPosition) {
  SourceComparer c;
  for (uint64_t s = 1; s <= 10; ++s) {
    c.AddLeft("intake", 0, Event(s, "case/a"));
    if (s == 4) continue;  // deleted on the right
    common::v1::StoredEvent e = Event(s, s == 6 ? "case/forged" : "case/a");
    if (s == 8) e.set_chain_hash("other");
    c.AddRight("intake", 0, e);
  }
  c.AddRight("intake", 0, Event(11, "case/a"));  // only on the right
  const auto diff = c.Finish();
  ASSERT_EQ(diff.size(), 4u);
  EXPECT_EQ(diff[0].sequence, 4u);
  EXPECT_EQ(diff[0].what, "only in left");
  EXPECT_EQ(diff[1].sequence, 6u);
  EXPECT_EQ(diff[1].what, "record differs");
  EXPECT_EQ(diff[2].sequence, 8u);
  EXPECT_EQ(diff[2].what, "hashes differ");
  EXPECT_EQ(diff[3].sequence, 11u);
  EXPECT_EQ(diff[3].what, "only in right");
}

// A topic holding a forged event and then the genuine one at the same
// position: consumers applied the forgery (the first), so it is compared,
// and the second copy is reported, not allowed to hide it. A plain
// redelivery (the same bytes twice) is nothing.
TEST(SourceComparerTest, ConflictingCopiesAtOnePositionAreReported) {
  SourceComparer c;
  for (uint64_t s = 1; s <= 5; ++s) {
    c.AddLeft("intake", 0, Event(s, "case/a"));
    if (s == 3) c.AddRight("intake", 0, Event(s, "case/forged"));
    c.AddRight("intake", 0, Event(s, "case/a"));
    if (s == 5) c.AddRight("intake", 0, Event(s, "case/a"));  // redelivered
  }
  const auto diff = c.Finish();
  ASSERT_EQ(diff.size(), 2u);
  EXPECT_EQ(diff[0].sequence, 3u);
  EXPECT_EQ(diff[1].sequence, 3u);
  std::set<std::string> what = {diff[0].what, diff[1].what};
  EXPECT_EQ(what, (std::set<std::string>{"record differs",
                                         "conflicting copies in right"}));
}

TEST(SourceComparerTest, AnOlderExportIsAPrefixNotADifference) {
  SourceComparer c;
  for (uint64_t s = 1; s <= 10; ++s) {
    c.AddLeft("intake", 0, Event(s, "case/a"));
    if (s <= 7 && s != 3) c.AddRight("intake", 0, Event(s, "case/a"));
  }
  c.AddLeft("intake", 1,
            Event(1, "case/b"));  // partition absent from the export
  const auto diff = c.Finish(/*right_may_be_older=*/true);
  ASSERT_EQ(diff.size(),
            1u);  // the hole inside the export's range still counts
  EXPECT_EQ(diff[0].sequence, 3u);
  EXPECT_EQ(c.newer_left(), 4u);
  EXPECT_EQ(c.Finish().size(), 5u);  // strict: every missing event listed
}

TEST(SourceComparerTest, AnUnparsableRecordIsComparedNotDropped) {
  SourceComparer c;
  c.AddLeft("registry", 1, Event(1, "x"));
  c.AddLeft("registry", 1, Event(2, "y"));
  c.AddRight("registry", 1, Event(1, "x"));
  common::v1::StoredEvent garbage = Event(2, "y");
  garbage.set_record("\xff\xff\xff");
  c.AddRight("registry", 1, garbage);
  const auto diff = c.Finish();
  ASSERT_EQ(diff.size(), 1u);
  EXPECT_EQ(diff[0].sequence, 2u);
  EXPECT_EQ(diff[0].what, "record differs");
}

}  // namespace
}  // namespace wangge::audit
