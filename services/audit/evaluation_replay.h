#ifndef WANGGE_SERVICES_AUDIT_EVALUATION_REPLAY_H_
#define WANGGE_SERVICES_AUDIT_EVALUATION_REPLAY_H_

// Evaluation figures (综合评价) from history alone, with supervision's own
// domain functions: the facts each event states (supervision::FactsOf, for
// supervision's events on the case as it was, and for dispatch's events as
// supervision counts them), a task's "due for closing" fact once (the first
// of its partition), then supervision::Evaluate over a window with the
// registry's areas. Replayed to now, the figures equal what the live
// service's GetEvaluation answers for the same window.
//
// Feed registry, supervision and dispatch events (each partition in order),
// then Evaluate.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/supervision/domain/evaluation.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/supervision/v1/supervision.pb.h"

namespace wangge::audit {

class EvaluationReplay {
 public:
  // Events recorded after `as_of` are left out.
  explicit EvaluationReplay(absl::Time as_of = absl::InfiniteFuture())
      : as_of_(as_of) {}

  void Add(const common::v1::EventEnvelope& envelope);

  // The figures of areas under `scope` for facts in [start, end).
  absl::StatusOr<supervision::v1::Evaluation> Evaluate(
      const supervision::EvaluationWeights& weights, const std::string& scope,
      absl::Time start, absl::Time end) const;

 private:
  absl::Time as_of_;
  std::map<uint32_t, std::vector<common::v1::EventEnvelope>> registry_,
      supervision_, dispatch_;
};

// One row per subject: subject, score, grade, then every counter and rate
// name that occurs (sorted; counters first), empty where a subject has none.
std::string EvaluationCsv(const supervision::v1::Evaluation& evaluation);

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_EVALUATION_REPLAY_H_
