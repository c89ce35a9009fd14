#ifndef WANGGE_SERVICES_AUDIT_DEADLINES_H_
#define WANGGE_SERVICES_AUDIT_DEADLINES_H_

// Deadlines (时限) against the policy recorded in force, as an invariant
// over the whole history, with the registry's and dispatch's own domain
// functions:
//
// - every TaskDispatched names the policy version that was in force at its
//   dispatch (per the registry's history), and its limit and due time are
//   what that version's class limit and business calendar give;
// - every approved extension moves the due time by what that calendar
//   gives for the minutes requested;
// - every TaskOverdue fired when dispatch's own timer rule
//   (dispatch::DecideTimers) says it was due, not before;
// - no task of the history was left past its due time, clock running,
//   without its TaskOverdue (beyond `grace` before the newest dispatch
//   event: the timer fires shortly after the due time).
//
// Feed registry and dispatch events (each partition in order; any order
// between services), then Finish.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/audit/verifier.h"
#include "wangge/common/v1/envelope.pb.h"

namespace wangge::audit {

class DeadlineChecker {
 public:
  explicit DeadlineChecker(absl::Duration grace = absl::Minutes(5))
      : grace_(grace) {}

  void Add(const common::v1::EventEnvelope& envelope);
  std::vector<Violation> Finish();
  // Dispatch's log was given without the registry's: there is no policy
  // history to check its deadlines against (Finish checks nothing).
  bool missing_registry() const {
    return !dispatch_.empty() && registry_.empty();
  }

 private:
  absl::Duration grace_;
  std::map<uint32_t, std::vector<common::v1::EventEnvelope>> registry_;
  std::map<uint32_t, std::vector<common::v1::EventEnvelope>> dispatch_;
};

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_DEADLINES_H_
