#ifndef WANGGE_SERVICES_AUDIT_SEPARATION_H_
#define WANGGE_SERVICES_AUDIT_SEPARATION_H_

// The separation rules (监督 vs 指挥) as invariants over the whole history,
// checked from the events alone, whatever the services' code did:
//
// - every close (CaseClosed) follows a passing check (CaseChecked) made after
//   the last forwarded result, by a shift leader's close and a supervisor's
//   check, the checker being neither the handler, nor of the handling
//   department, nor the reporter;
// - every check is such a check (a failed one too);
// - verifications are supervisors', filings and closes shift leaders';
// - every dispatch of a filed case follows its filing (CaseFiled in
//   supervision's log, not later) and comes from the command centre (the
//   dispatch service or a dispatcher); rulings are dispatchers'; department
//   actions are their own department's handlers'.
// - no oversight event is written on a case's or a task's stream.
//
// Feed every service's events (any order between services; each partition
// in order), then Finish.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "services/audit/verifier.h"
#include "wangge/common/v1/envelope.pb.h"

namespace wangge::audit {

class SeparationChecker {
 public:
  void Add(const wangge::common::v1::EventEnvelope& envelope);
  std::vector<Violation> Finish();

 private:
  struct CaseFile {
    std::string reporter;
    std::string handler;
    std::string handling_department;
    bool handled = false;       // a result awaits its check
    bool check_passed = false;  // since the last result
  };
  struct Dispatch {
    std::string case_id;
    absl::Time time;
    Violation where;
  };
  void Flag(const wangge::common::v1::EventEnvelope& e, const std::string& rule,
            const std::string& message);

  std::map<std::string, CaseFile> cases_;
  std::map<std::string, absl::Time> filed_;  // first filing per case
  std::map<std::string, std::string> task_department_;
  std::vector<Dispatch> dispatches_;
  std::vector<Violation> violations_;
};

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_SEPARATION_H_
