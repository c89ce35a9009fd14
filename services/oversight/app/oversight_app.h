#ifndef WANGGE_SERVICES_OVERSIGHT_APP_OVERSIGHT_APP_H_
#define WANGGE_SERVICES_OVERSIGHT_APP_OVERSIGHT_APP_H_

// Oversight's shell around its domain (domain/red_line.h).
//
// - Follows supervision (case areas, rework, unsatisfied follow-ups, closes)
//   and dispatch (overdue, send-backs, emergency yellow stages) and raises
//   notices (督办): one per trigger (the notice id names it; a redelivered
//   event finds the notice there and raises nothing).
// - Escalation timers ("timers": TimeKey(acknowledge_by, notice id)) fire on
//   a thread of their own in bounded batches.
// - Rows: "notices" (id -> NoticeRecord; ids start with the case id),
//   "orgs", "members", "wishes", "facts" (participation, by time),
//   "case_facts" (written only by the supervision follower), "task_facts"
//   (only by the dispatch follower).
// Oversight writes only its own events: it never files, dispatches, checks
// or closes.
//
// Thread safety: every method may be called from any thread.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/common/clock/clock.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/eventstore/timer_index.h"
#include "services/common/notify/listeners.h"
#include "services/oversight/domain/red_line.h"
#include "services/registry/replica/registry_replica.h"

namespace wangge::oversight {

inline constexpr char kNoticesProjection[] = "notices";
inline constexpr char kOrgsProjection[] = "orgs";
inline constexpr char kMembersProjection[] = "members";
inline constexpr char kWishesProjection[] = "wishes";
inline constexpr char kFactsProjection[] = "facts";
inline constexpr char kCaseFactsProjection[] = "case_facts";
inline constexpr char kTaskFactsProjection[] = "task_facts";
inline constexpr char kTimersProjection[] = "timers";

// Whether notice `n` answers a list or watch request: the overseer and the
// status asked for, and an area within `scopes`.
bool NoticeWanted(const v1::ListNoticesRequest& r,
                  const std::vector<std::string>& scopes, const v1::Notice& n);

class OversightApp {
 public:
  OversightApp(eventstore::EventStore* store,
               registry::RegistryReplica* registry, OversightRules rules,
               const Clock* clock);
  ~OversightApp();

  // Rebuilds the red line from this store's rows.
  absl::Status Load();

  absl::StatusOr<eventstore::AppendRequest> SupervisionEffects(
      const common::v1::EventEnvelope& env);
  absl::StatusOr<eventstore::AppendRequest> DispatchEffects(
      const common::v1::EventEnvelope& env);
  // After a follower's effects are durable: the line and watchers follow.
  void OnApplied(const common::v1::EventEnvelope& env);

  absl::StatusOr<v1::OversightCommandResponse> RegisterOrganization(
      const common::v1::Actor& actor,
      const v1::RegisterPartyOrganizationRequest& r);
  absl::StatusOr<v1::OversightCommandResponse> AssignOverseer(
      const common::v1::Actor& actor, const v1::AssignOverseerRequest& r);
  absl::StatusOr<v1::OversightCommandResponse> Acknowledge(
      const common::v1::Actor& actor, const v1::NoticeActionRequest& r);
  absl::StatusOr<v1::OversightCommandResponse> RecordAction(
      const common::v1::Actor& actor, const v1::NoticeActionRequest& r);
  absl::StatusOr<v1::OversightCommandResponse> Resolve(
      const common::v1::Actor& actor, const v1::NoticeActionRequest& r);
  absl::StatusOr<v1::OversightCommandResponse> RecordWish(
      const common::v1::Actor& actor, const v1::RecordSmallWishRequest& r);
  // The wish's area (NOT_FOUND: no such wish).
  absl::StatusOr<std::string> WishArea(const std::string& wish_id) const;
  absl::StatusOr<v1::OversightCommandResponse> ClaimWish(
      const common::v1::Actor& actor, const v1::SmallWishActionRequest& r);
  absl::StatusOr<v1::OversightCommandResponse> FulfilWish(
      const common::v1::Actor& actor, const v1::SmallWishActionRequest& r);

  absl::StatusOr<v1::Coverage> GetCoverage(
      const v1::GetCoverageRequest& r) const;
  // The notices answering `r` whose area is within `scopes`.
  absl::StatusOr<v1::ListNoticesResponse> ListNotices(
      const v1::ListNoticesRequest& r,
      const std::vector<std::string>& scopes = {"*"}) const;
  // Waits (until `deadline`) for `positions` to be applied here.
  absl::Status WaitApplied(
      const google::protobuf::RepeatedPtrField<common::v1::Position>& positions,
      absl::Time deadline) const;
  absl::StatusOr<v1::NoticeRecord> GetNotice(const std::string& id) const;
  absl::StatusOr<v1::Participation> GetParticipation(
      const v1::GetParticipationRequest& r) const;

  absl::StatusOr<size_t> FireDueTimers(size_t max);
  void StartTimers() { timers_.Start(); }
  void StopTimers() { timers_.Stop(); }

  using Listener = std::function<void(const v1::Notice&)>;
  int Subscribe(Listener listener) {
    return listeners_.Subscribe(std::move(listener));
  }
  void Unsubscribe(int id) { listeners_.Unsubscribe(id); }

 private:
  template <typename T>
  absl::StatusOr<T> Row(const char* projection, const std::string& key) const;
  // Runs `decide` on each notice of the case; what it emits is added to
  // `emitted`, with the notice it concerns in `notices`.
  absl::Status ResolveCaseNotices(
      const std::string& case_id,
      const std::function<std::vector<Emitted>(const v1::NoticeRecord&)>&
          decide,
      std::vector<Emitted>* emitted,
      std::map<std::string, v1::NoticeRecord>* notices) const;
  // The append for `emitted` (oversight's own events) with every row they
  // change; `notices` holds the notices' state before.
  // `wishes` likewise holds the wishes' state before.
  absl::StatusOr<eventstore::AppendRequest> Effects(
      const std::vector<Emitted>& emitted,
      std::map<std::string, v1::NoticeRecord> notices, const std::string& cause,
      absl::Time now, std::vector<v1::Notice>* changed,
      std::map<std::string, v1::SmallWishRecord> wishes = {}) const;
  // Raises the trigger's notice unless it exists or the case is closed (and
  // the trigger is not one that comes after the close).
  absl::StatusOr<std::vector<Emitted>> Raise(const Trigger& trigger,
                                             absl::Time now) const;
  absl::StatusOr<v1::OversightCommandResponse> Commit(
      const common::v1::Actor& actor, const std::string& command_id,
      const std::string& id, std::map<std::string, v1::NoticeRecord> notices,
      std::vector<Emitted> emitted,
      std::map<std::string, v1::SmallWishRecord> wishes = {});
  absl::StatusOr<v1::OversightCommandResponse> OnWish(
      const common::v1::Actor& actor, const std::string& what,
      const v1::SmallWishActionRequest& r,
      const std::function<absl::StatusOr<std::vector<Emitted>>(
          const v1::SmallWishRecord&)>& decide);
  absl::StatusOr<v1::OversightCommandResponse> OnNotice(
      const common::v1::Actor& actor, const std::string& what,
      const v1::NoticeActionRequest& r,
      const std::function<absl::StatusOr<std::vector<Emitted>>(
          const v1::NoticeRecord&)>& decide);
  void Publish(const std::vector<v1::Notice>& changed);
  // The line as it stands: an immutable snapshot, replaced on change.
  std::shared_ptr<const RedLine> Line() const;

  eventstore::EventStore* const store_;
  registry::RegistryReplica* const registry_;
  const OversightRules rules_;
  const Clock* const clock_;
  mutable absl::Mutex line_mu_;
  // Handed out as const snapshots; changed in place only while none is out.
  std::shared_ptr<RedLine> line_ ABSL_GUARDED_BY(line_mu_) =
      std::make_shared<RedLine>();
  notify::Listeners<v1::Notice> listeners_;
  eventstore::TimerThread timers_;
};

}  // namespace wangge::oversight

#endif  // WANGGE_SERVICES_OVERSIGHT_APP_OVERSIGHT_APP_H_
