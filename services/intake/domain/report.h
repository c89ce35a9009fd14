#ifndef WANGGE_SERVICES_INTAKE_DOMAIN_REPORT_H_
#define WANGGE_SERVICES_INTAKE_DOMAIN_REPORT_H_

// Intake's decision for a report: validate everything, convert the point to
// WGS84, find the smallest area as of the observation time, and produce
// ReportReceived, or the error that names the field. Pure: the registry
// snapshot, the time and the minted case id are inputs.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/intake/domain/coordinates.h"
#include "services/registry/domain/area_index.h"
#include "services/registry/domain/registry_state.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/intake/v1/events.pb.h"
#include "wangge/intake/v1/intake.pb.h"

namespace wangge::intake {

// The source of a report, from the verified caller (never the request).
// PERMISSION_DENIED (rule "unknown_channel") for a channel Wangge does not
// know; "12345", "app", "mayor_mailbox", "gov:<system>", "sensor:<gateway>".
absl::StatusOr<v1::ReportSource> SourceOf(const common::v1::Actor& actor);

struct ReportInput {
  const v1::ReportCaseRequest* request;
  common::v1::Actor actor;
  absl::Time now;
  std::string case_id;
  const registry::RegistryState* registry;
  const registry::AreaIndex* index;
  // Open reports of the same class nearby (the shell finds them); they
  // become hints, never merges: merging is supervision's decision.
  std::vector<std::string> possible_duplicates;
};

// A reported point in WGS84 (GCJ-02 and BD-09 converted), or the violation
// of `location.point`.
absl::StatusOr<LonLat> PointInWgs84(const common::v1::GeoPoint& p);

// The contact, if any, is validated here and encrypted by the caller (keys
// and randomness are not the domain's).
absl::StatusOr<v1::ReportReceived> DecideReport(const ReportInput& input);

// The row of intake's "reports" projection for a report (what GetReport
// answers and GetStateDigest hashes; the audit tool's replay computes the
// same).
v1::Report ReportView(const v1::ReportReceived& e);

}  // namespace wangge::intake

#endif  // WANGGE_SERVICES_INTAKE_DOMAIN_REPORT_H_
