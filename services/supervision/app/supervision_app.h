#ifndef WANGGE_SERVICES_SUPERVISION_APP_SUPERVISION_APP_H_
#define WANGGE_SERVICES_SUPERVISION_APP_SUPERVISION_APP_H_

// The supervision centre's shell around its domain (domain/case.h,
// domain/evaluation.h): loads a case, decides, appends the events with the
// case's rows in one write, each case append expecting the case stream's
// version (commands and followers never overwrite each other).
//
// - Follows intake (ReportReceived opens the case file; contact reads are
//   noted) and dispatch (department, deadlines, overdue and handled results
//   are noted in the case's stream; every task event is counted for
//   evaluation and shown on the timeline).
// - Rows: "cases" (case id -> CaseRecord), "facts" (time-keyed evaluation
//   facts), "timeline" (<case id>/<micros>/<service>/<p>/<seq> -> entry, for
//   other services' events; supervision's own come from the case stream).
//
// Thread safety: every method may be called from any thread.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/common/clock/clock.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/notify/listeners.h"
#include "services/registry/replica/registry_replica.h"
#include "services/supervision/domain/case.h"
#include "services/supervision/domain/evaluation.h"
#include "wangge/supervision/v1/supervision.pb.h"

namespace wangge::supervision {

inline constexpr char kCasesProjection[] = "cases";
inline constexpr char kFactsProjection[] = "facts";
inline constexpr char kTimelineProjection[] = "timeline";
// Tasks already counted as due for closing (stable fact ids), written only
// by the dispatch follower: the first fact wins.
inline constexpr char kCountedProjection[] = "counted";

class SupervisionApp {
 public:
  SupervisionApp(eventstore::EventStore* store,
                 registry::RegistryReplica* registry, SupervisionPolicy policy,
                 EvaluationWeights weights, const Clock* clock);

  // Followers' handlers.
  absl::StatusOr<eventstore::AppendRequest> IntakeEffects(
      const common::v1::EventEnvelope& env);
  absl::StatusOr<eventstore::AppendRequest> DispatchEffects(
      const common::v1::EventEnvelope& env);
  // Oversight's notices and actions appear on the case's timeline (they
  // change nothing else: oversight never acts on a case).
  absl::StatusOr<eventstore::AppendRequest> OversightEffects(
      const common::v1::EventEnvelope& env);
  // After a follower's effects are durable (watchers hear of the case).
  void OnApplied(const common::v1::EventEnvelope& env);

  absl::StatusOr<v1::CaseCommandResponse> AssignVerification(
      const common::v1::Actor& actor, const v1::AssignVerificationRequest& r);
  absl::StatusOr<v1::CaseCommandResponse> Verify(
      const common::v1::Actor& actor, const v1::VerifyCaseRequest& r);
  absl::StatusOr<v1::CaseCommandResponse> File(const common::v1::Actor& actor,
                                               const v1::FileCaseRequest& r);
  absl::StatusOr<v1::CaseCommandResponse> Reject(
      const common::v1::Actor& actor, const v1::RejectCaseRequest& r);
  absl::StatusOr<v1::CaseCommandResponse> Void(const common::v1::Actor& actor,
                                               const v1::VoidCaseRequest& r);
  absl::StatusOr<v1::CaseCommandResponse> Check(const common::v1::Actor& actor,
                                                const v1::CheckCaseRequest& r);
  absl::StatusOr<v1::CaseCommandResponse> Close(const common::v1::Actor& actor,
                                                const v1::CloseCaseRequest& r);
  absl::StatusOr<v1::CaseCommandResponse> FollowUp(
      const common::v1::Actor& actor, const v1::RecordFollowUpRequest& r);

  absl::StatusOr<v1::CaseRecord> GetCaseRecord(
      const std::string& case_id) const;
  absl::StatusOr<v1::Case> GetCase(const std::string& case_id) const;
  absl::StatusOr<v1::ListCasesResponse> ListCases(
      const v1::ListCasesRequest& request) const;
  absl::StatusOr<v1::CaseTimeline> GetCaseTimeline(
      const std::string& case_id) const;
  absl::StatusOr<v1::Evaluation> GetEvaluation(
      const v1::GetEvaluationRequest& request) const;

  // Every case change, after it is durable (WatchCases).
  using Listener = std::function<void(const v1::Case&)>;
  int Subscribe(Listener listener) {
    return listeners_.Subscribe(std::move(listener));
  }
  void Unsubscribe(int id) { listeners_.Unsubscribe(id); }

 private:
  absl::StatusOr<v1::CaseRecord> Load(const std::string& case_id) const;
  // The append for `emitted` on the cases in `cases` (their state before),
  // with rows and evaluation facts; `extra_facts` are counted as well.
  absl::StatusOr<eventstore::AppendRequest> Effects(
      const std::vector<Emitted>& emitted,
      std::map<std::string, v1::CaseRecord> cases,
      const common::v1::Actor& actor, const std::string& cause, absl::Time now,
      std::vector<v1::Case>* changed) const;
  using Decider = std::function<absl::StatusOr<std::vector<Emitted>>(
      const v1::CaseRecord&, const registry::RegistryState&,
      std::map<std::string, v1::CaseRecord>& others)>;
  absl::StatusOr<v1::CaseCommandResponse> Commit(
      const common::v1::Actor& actor, const std::string& method,
      const std::string& request_id, const std::string& case_id,
      const std::vector<std::string>& other_cases, const Decider& decide);
  void Publish(const std::vector<v1::Case>& changed);
  // A retried command's answer: the first one, with its positions.
  absl::StatusOr<v1::CaseCommandResponse> FirstAnswer(
      const eventstore::AppendResult& first, const std::string& case_id) const;

  eventstore::EventStore* const store_;
  registry::RegistryReplica* const registry_;
  const SupervisionPolicy policy_;
  const EvaluationWeights weights_;
  const Clock* const clock_;
  notify::Listeners<v1::Case> listeners_;
};

}  // namespace wangge::supervision

#endif  // WANGGE_SERVICES_SUPERVISION_APP_SUPERVISION_APP_H_
