#ifndef WANGGE_SERVICES_INTAKE_APP_INTAKE_APP_H_
#define WANGGE_SERVICES_INTAKE_APP_INTAKE_APP_H_

// Intake's command and query handlers. Intake follows the registry's topic
// and keeps its own copy of the registry (the raw events as projection rows,
// evolved with the registry's own Evolve), so locating a report never calls
// the registry.
//
// Thread safety: every method may be called from any thread.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "services/common/clock/clock.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/ratelimit/rate_limiter.h"
#include "services/intake/domain/coordinates.h"
#include "services/intake/privacy/contact_crypto.h"
#include "services/intake/privacy/key_store.h"
#include "services/registry/domain/area_index.h"
#include "services/registry/domain/registry_state.h"
#include "services/registry/replica/registry_replica.h"
#include "wangge/intake/v1/events.pb.h"
#include "wangge/intake/v1/intake.pb.h"

namespace wangge::intake {

inline constexpr char kReportsProjection[] = "reports";
// Reports by class, place and time, for duplicate hints: a cell of the
// duplicate radius, newest first. An index on disk, written with each report,
// so that intake's memory does not grow with the reports in the window (not
// part of the state digest: it is derived from "reports").
inline constexpr char kNearbyProjection[] = "nearby";
// The nearby index's cells are `cell_deg` of latitude high (twice the
// radius); the width in degrees of longitude of the cells of a row.
double NearbyCellWidthDeg(double cell_deg, int64_t row);
using registry::kRegistryProjection;

struct IntakeOptions {
  CipherSuite suite = CipherSuite::kStandard;
  // Possible duplicates: reports of the same class this close and recent.
  double duplicate_radius_m = 100;
  absl::Duration duplicate_window = absl::Hours(24);
  // Reports per channel (all its callers together) and per caller.
  ratelimit::Rate channel_rate{2000, 4000};
  ratelimit::Rate caller_rate{50, 100};
  // Contact reveals per follow-up agent: a call's worth (one a minute on
  // average, 20 at once), not a bulk export of every reporter in scope.
  ratelimit::Rate reveal_rate{1.0 / 60, 20};
};

class IntakeApp {
 public:
  IntakeApp(eventstore::EventStore* store, KeyStore* keys,
            IntakeOptions options, const Clock* clock);

  // Rebuilds the registry copy from this store.
  absl::Status Load();

  // The registry follower: the consumer stores each registry event as a row
  // (RegistryEffects) and, once durable, applies it (OnRegistryApplied).
  absl::StatusOr<eventstore::AppendRequest> RegistryEffects(
      const common::v1::EventEnvelope& env) const;
  void OnRegistryApplied(const common::v1::EventEnvelope& env);

  absl::StatusOr<v1::ReportCaseResponse> ReportCase(
      const common::v1::Actor& actor, const v1::ReportCaseRequest& request);
  absl::StatusOr<v1::Report> GetReport(const std::string& case_id) const;
  // Reports in an area (prefix), by case id; `page_token` is the last id
  // of the previous page. `only_reporter` non-empty: that reporter's only
  // (a channel's own reports).
  absl::StatusOr<v1::ListReportsResponse> ListReports(
      const std::string& area_code, int page_size,
      const std::string& page_token,
      const std::string& only_reporter = "") const;

  // The follow-up agent's read of a reporter's contact: an access event
  // (who, why) is appended before the contact is returned. FAILED_PRECONDITION
  // ("reporter_forgotten: ...") once the key is destroyed.
  absl::StatusOr<v1::ReporterContact> RevealReporterContact(
      const common::v1::Actor& actor, const std::string& case_id,
      const std::string& purpose);
  // Records the erasure, then destroys the key for good. Idempotent.
  absl::StatusOr<std::vector<common::v1::Position>> ForgetReporter(
      const common::v1::Actor& actor, const std::string& case_id,
      const std::string& reason);

  // A supervision event's effects on intake (its topic's consumer): a case
  // closed, voided or not accepted leaves the duplicate hints, a reopened
  // one comes back. Every other event changes nothing here (its consumed
  // position is still written).
  absl::StatusOr<eventstore::AppendRequest> SupervisionEffects(
      const common::v1::EventEnvelope& env) const;

  // A query's min_positions: waits until intake has applied them (its own
  // events committed, supervision's and the registry's consumed).
  absl::Status WaitApplied(
      const google::protobuf::RepeatedPtrField<common::v1::Position>& positions,
      absl::Time deadline) const;

  // Areas known to intake (tests, readiness).
  size_t known_areas() const;

 private:
  // The command id that records a reporter's erasure.
  static std::string ForgetCommand(const std::string& case_id);
  // Serialises a case's contact reads with its erasure.
  absl::Mutex& ContactLock(const std::string& case_id);
  static constexpr size_t kContactLocks = 64;
  absl::Mutex contact_locks_[kContactLocks];
  std::shared_ptr<const registry::AreaIndex> Index();
  // Reports of `category` within the duplicate radius of `at` and window
  // before `now`, newest first, at most five (from the "nearby" projection).
  std::vector<std::string> NearbyOpen(const std::string& category, LonLat at,
                                      absl::Time now) const;
  // The "nearby" row for a report: category, cell, newest first.
  std::string NearbyKey(const std::string& category, LonLat at, absl::Time time,
                        const std::string& case_id) const;
  std::string MintCaseId(absl::Time now) const;

  absl::StatusOr<v1::ReportReceived> ReceivedEvent(
      const std::string& case_id) const;

  eventstore::EventStore* const store_;
  KeyStore* const keys_;
  const CipherSuite suite_;
  const Clock* const clock_;
  ratelimit::RateLimiter channel_limiter_;
  ratelimit::RateLimiter caller_limiter_;
  ratelimit::RateLimiter reveal_limiter_;
  const double duplicate_radius_m_;
  const absl::Duration duplicate_window_;
  const double nearby_cell_deg_;  // the nearby index's cell side
  registry::RegistryReplica registry_;
  absl::Mutex index_mu_;
  std::shared_ptr<const registry::AreaIndex> index_ ABSL_GUARDED_BY(index_mu_);
  uint64_t index_generation_ ABSL_GUARDED_BY(index_mu_) = 0;
};

}  // namespace wangge::intake

#endif  // WANGGE_SERVICES_INTAKE_APP_INTAKE_APP_H_
