#include "services/supervision/domain/evaluation.h"

#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/status/errors.h"
#include "services/registry/domain/test_registry.h"

namespace wangge::supervision {
namespace {

TEST(EvaluationTest, GradesAndStepTables) {
  EXPECT_EQ(Grade(90), "A");
  EXPECT_EQ(Grade(89.99), "B");
  EXPECT_EQ(Grade(75), "B");
  EXPECT_EQ(Grade(60), "C");
  EXPECT_EQ(Grade(40), "D");
  EXPECT_EQ(Grade(39.9), "E");
  EvaluationWeights w;
  EXPECT_EQ(w.volume.Score(0), 0);
  EXPECT_EQ(w.volume.Score(1), 4);
  EXPECT_EQ(w.volume.Score(49), 8);
  EXPECT_EQ(w.volume.Score(50), 10);
  EXPECT_EQ(w.missed.Score(0), 100);
  EXPECT_EQ(w.missed.Score(2), 80);
  EXPECT_EQ(w.missed.Score(6), 40);
  EXPECT_EQ(w.missed.Score(100), 20);
}

TEST(EvaluationTest, WeightsFromJson) {
  auto w = ParseEvaluationWeights(
      R"({"department": {"closure": 0.5, "volume": {"steps": [[10, 20]],
          "otherwise": 1}}, "area": {"rework": 0}})");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->department_closure, 0.5);
  EXPECT_EQ(w->department_on_time, 0.3);  // default kept
  EXPECT_EQ(w->volume.Score(10), 20);
  EXPECT_EQ(w->volume.Score(9), 1);
  EXPECT_EQ(w->area_rework, 0);
  EXPECT_EQ(
      status::ViolatedField(
          ParseEvaluationWeights(R"({"area": {"handling": -1}})").status()),
      "area.handling");
  EXPECT_EQ(status::ViolatedField(
                ParseEvaluationWeights(
                    R"({"supervisor": {"missed_score": {"steps": [[1, 80],
                        [3, 60]]}}})")
                    .status()),
            "supervisor.missed_score.steps[1]");
  EXPECT_EQ(status::ViolatedField(ParseEvaluationWeights("[1]").status()),
            "evaluation");
}

// A window's facts for one department, worked out by hand.
TEST(EvaluationTest, DepartmentFormulaByHand) {
  const absl::Time t = registry::testing::Local(2024, 9, 23, 10, 0);
  std::vector<v1::EvaluationFact> facts;
  auto add = [&](const char* kind, bool on_time = false) {
    v1::EvaluationFact f;
    f.set_kind(kind);
    *f.mutable_time() = ToProto(t);
    f.set_department("d1");
    f.set_area_code("110101001001001");
    f.set_on_time(on_time);
    facts.push_back(f);
  };
  for (int i = 0; i < 4; ++i) add("dispatched");
  for (int i = 0; i < 4; ++i) add("due", i < 3);  // 3 handled by then
  for (int i = 0; i < 4; ++i) add("handled", i < 3);
  for (int i = 0; i < 3; ++i) add("closed", true);
  add("reworked");
  // closure 3/4 = 75, on time 3/4 = 75, rework 1/4 = 25:
  // 0.3 × 75 + 0.3 × 75 + 0.3 × 75 + volume(4 tasks: ≥ 1 -> 4) = 71.5 -> C.
  auto e = Evaluate(facts, registry::testing::TestRegistry(),
                    EvaluationWeights(), "", t, t + absl::Hours(1));
  ASSERT_EQ(e.scores_size(), 2);  // the (unknown) area and the department
  EXPECT_EQ(e.scores(0).subject(), "area/110101001001001");
  const auto& d = e.scores(1);
  EXPECT_EQ(d.subject(), "department/d1");
  EXPECT_DOUBLE_EQ(d.rates().at("closure"), 75);
  EXPECT_DOUBLE_EQ(d.rates().at("rework"), 25);
  EXPECT_DOUBLE_EQ(d.score(), 71.5);
  EXPECT_EQ(d.grade(), "C");
  EXPECT_DOUBLE_EQ(d.rates().at("on_time"), 75);
  // A department that let its one task go overdue and never handled it is
  // not 100% on time (nothing handled late is still nothing on time).
  std::vector<v1::EvaluationFact> idle;
  for (const char* kind : {"dispatched", "overdue", "due"}) {
    v1::EvaluationFact f = facts[0];
    f.set_kind(kind);
    f.set_department("d2");
    idle.push_back(f);
  }
  auto idle_eval = Evaluate(idle, registry::testing::TestRegistry(),
                            EvaluationWeights(), "", t, t + absl::Hours(1));
  bool seen = false;
  for (const auto& s : idle_eval.scores()) {
    if (s.subject() != "department/d2") continue;
    seen = true;
    EXPECT_DOUBLE_EQ(s.rates().at("on_time"), 0);
  }
  EXPECT_TRUE(seen);
  // Outside the scope: nothing.
  EXPECT_EQ(Evaluate(facts, registry::testing::TestRegistry(),
                     EvaluationWeights(), "5101", t, t + absl::Hours(1))
                .scores_size(),
            0);
}

}  // namespace
}  // namespace wangge::supervision
