#include "services/audit/evaluation_replay.h"

#include "gtest/gtest.h"

namespace wangge::audit {
namespace {

TEST(EvaluationCsvTest, OneRowPerSubjectWithEveryCounterAndRate) {
  supervision::v1::Evaluation e;
  auto* a = e.add_scores();
  a->set_subject("department/sanitation-110101");
  (*a->mutable_counters())["closed"] = 5;
  (*a->mutable_rates())["on_time"] = 80;
  a->set_score(91.5);
  a->set_grade("A");
  auto* b = e.add_scores();
  b->set_subject("post/supervisor/a,b");  // quoted
  (*b->mutable_counters())["checked"] = 7;
  b->set_score(40);
  b->set_grade("D");
  EXPECT_EQ(EvaluationCsv(e),
            "subject,score,grade,checked,closed,on_time\n"
            "department/sanitation-110101,91.50,A,,5,80.0000\n"
            "\"post/supervisor/a,b\",40.00,D,7,,\n");
}

TEST(EvaluationReplayTest, NoHistoryNoFigures) {
  EvaluationReplay replay;
  auto figures = replay.Evaluate(supervision::EvaluationWeights(), "110101",
                                 absl::UnixEpoch(), absl::Now());
  ASSERT_TRUE(figures.ok()) << figures.status();
  EXPECT_EQ(figures->scores_size(), 0);
}

}  // namespace
}  // namespace wangge::audit
