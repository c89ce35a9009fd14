#ifndef WANGGE_SERVICES_SUPERVISION_DOMAIN_EVALUATION_H_
#define WANGGE_SERVICES_SUPERVISION_DOMAIN_EVALUATION_H_

// Evaluation (综合评价): each event about a case yields counted facts, stored
// by the time of what they count (a close at its close time; a task due for
// closing at its deadline), so a window is a range of the "facts"
// projection. Evaluate() turns the facts of a window into counters, rates
// (percent), scores and A-E grades per department, area and post, with the
// formulas of domain §4 and Beijing's response, resolution and satisfaction
// rates. Pure.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "services/registry/domain/registry_state.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/supervision/v1/events.pb.h"
#include "wangge/supervision/v1/supervision.pb.h"

namespace wangge::supervision {

// "At least" steps, highest bound first: the score of the first bound the
// value reaches, else `otherwise`.
struct StepTable {
  std::vector<std::pair<int64_t, double>> steps;
  double otherwise = 0;
  double Score(int64_t value) const;
};

// Domain §4's defaults; every number is configurable.
struct EvaluationWeights {
  // Department: closure rate, on-time handling rate, (100 - rework rate),
  // plus a volume score by tasks dispatched.
  double department_closure = 0.3;
  double department_on_time = 0.3;
  double department_rework = 0.3;
  StepTable volume{{{50, 10}, {20, 8}, {5, 6}, {1, 4}}, 0};
  // Supervisor: valid-report rate, missed-report score (a problem first
  // reported by the public in their grid is a miss), on-time verification,
  // on-time check.
  double supervisor_valid = 0.4;
  double supervisor_missed = 0.2;
  double supervisor_verify = 0.2;
  double supervisor_check = 0.2;
  StepTable missed{{{11, 20}, {6, 40}, {3, 60}, {1, 80}}, 100};
  // Areas: handling rate, on-time rate, (100 - rework rate).
  double area_handling = 0.4;
  double area_on_time = 0.3;
  double area_rework = 0.3;
};

std::string Grade(double score);  // A >= 90, B >= 75, C >= 60, D >= 40, E

// A deployment's weights from JSON (absent keys keep the defaults):
//   {"department": {"closure": 0.3, "on_time": 0.3, "rework": 0.3,
//                   "volume": {"steps": [[50, 10], [20, 8]], "otherwise": 0}},
//    "supervisor": {"valid_report": 0.4, "missed": 0.2, "verify": 0.2,
//                   "check": 0.2, "missed_score": {"steps": [[11, 20]],
//                   "otherwise": 100}},
//    "area": {"handling": 0.4, "on_time": 0.3, "rework": 0.3}}
// INVALID_ARGUMENT naming the field for a negative weight or steps not in
// descending order of bound.
absl::StatusOr<EvaluationWeights> ParseEvaluationWeights(
    const std::string& json);

struct CountedFact {
  v1::EvaluationFact fact;
  // Set for facts that count once whatever happens later (a task due for
  // closing, "due/<task id>"): the shell keeps the first one only.
  std::string stable_id;
};

// The facts an event states. `before` is the case before the event.
std::vector<CountedFact> FactsOf(const v1::CaseRecord& before,
                                 const google::protobuf::Message& event,
                                 const common::v1::Actor& actor,
                                 absl::Time occurred);

// Projection key: the time (microseconds since the epoch, 20 digits) then
// `id`, so that keys sort by time.
std::string FactKey(absl::Time time, const std::string& id);

// Counters, rates, scores and grades for the facts (already limited to
// [start, end)) of areas under `scope`. Subjects: "department/<id>",
// "area/<code>" (every enclosing area under the scope too),
// "post/<role>/<subject>".
v1::Evaluation Evaluate(const std::vector<v1::EvaluationFact>& facts,
                        const registry::RegistryState& registry,
                        const EvaluationWeights& weights,
                        const std::string& scope, absl::Time start,
                        absl::Time end);

}  // namespace wangge::supervision

#endif  // WANGGE_SERVICES_SUPERVISION_DOMAIN_EVALUATION_H_
