#ifndef WANGGE_SERVICES_AUDIT_REPLAY_H_
#define WANGGE_SERVICES_AUDIT_REPLAY_H_

// Replay (重放): rebuilds a service's projections from its event history
// with the service's own domain functions (registry::Evolve,
// intake::ReportView, supervision::Evolve for cases, dispatch::Evolve for
// tasks, oversight::Evolve for notices), so an auditor can compare them with
// what the running service reports through GetStateDigest without trusting it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/audit/projection_rows.h"
#include "services/registry/domain/registry_state.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/common/v1/eventlog.pb.h"
#include "wangge/dispatch/v1/events.pb.h"
#include "wangge/oversight/v1/events.pb.h"
#include "wangge/supervision/v1/events.pb.h"

namespace wangge::audit {

// Projections by name; each one's rows keyed as the service keys them, in
// key order with no key twice.
using ReplayedState = std::map<std::string, ProjectionRows>;

// Collects one service's history (any partition order) and rebuilds its
// projections.
class Replayer {
 public:
  // Events recorded after `as_of` are left out: the state at that moment.
  explicit Replayer(std::string service,
                    absl::Time as_of = absl::InfiniteFuture())
      : service_(std::move(service)), as_of_(as_of) {}

  // Takes one stored event of `partition`; events of a partition arrive in
  // sequence order.
  absl::Status Add(uint32_t partition, const common::v1::StoredEvent& event);
  // The same for a record already parsed.
  absl::Status Add(uint32_t partition, common::v1::EventEnvelope env);
  // The same without taking the envelope (it may live on the caller's arena).
  absl::Status Apply(uint32_t partition, const common::v1::EventEnvelope& env);
  // A hint: about `events` more events will arrive.
  void Reserve(size_t events) {
    if (service_ == "intake")
      report_rows_.Reserve(report_rows_.size() + events);
  }
  // Puts the rows collected so far in key order on the calling thread (a
  // worker's share, before Absorb merges the shares).
  void SortRows() { report_rows_.SortByKey(/*threads=*/1); }
  // Takes over what `other` replayed of other partitions (a replay split
  // by partition across threads).
  void Absorb(Replayer&& other);

  // The projections as the service keeps them (once: the rows move out).
  // UNIMPLEMENTED for a service the replayer does not know.
  absl::StatusOr<ReplayedState> Finish();

  uint64_t events() const { return events_; }

 private:
  std::string service_;
  absl::Time as_of_;
  std::map<uint32_t, std::vector<common::v1::EventEnvelope>> partitions_;
  // Intake's report rows in arrival order, sorted once by Finish: appending
  // here and sorting at the end costs a fraction of ten million ordered-map
  // inserts (docs/benchmarks.md, audit).
  ProjectionRows report_rows_;
  std::map<std::string, supervision::v1::CaseRecord> cases_;
  std::map<std::string, dispatch::v1::TaskRecord> tasks_;
  std::map<std::string, oversight::v1::NoticeRecord> notices_;
  uint64_t events_ = 0;
};

// The registry's state (with its history: areas, staff and policies by
// effective time) from its events, applied in the order RegistryApp::Load
// applies them: the deployment stream first, then each partition in
// sequence.
absl::StatusOr<registry::RegistryState> RegistryFromHistory(
    const std::map<uint32_t, std::vector<common::v1::EventEnvelope>>& parts);

// Per projection: whether the replayed digest matches the service's.
struct ProjectionComparison {
  std::string name;
  std::string replayed_digest;  // raw bytes
  uint64_t replayed_rows = 0;
  std::string reported_digest;  // raw bytes; empty: not reported
  uint64_t reported_rows = 0;
  bool match = false;
};

std::vector<ProjectionComparison> Compare(
    const ReplayedState& replayed, const common::v1::StateDigest& reported,
    common::v1::HashAlgorithm algorithm);

// The replayed state for reading: {projection: {key: row}}, rows decoded
// (intake reports as their JSON form, registry areas as their text row).
std::string StateJson(const ReplayedState& state);

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_REPLAY_H_
