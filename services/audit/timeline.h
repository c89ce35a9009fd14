#ifndef WANGGE_SERVICES_AUDIT_TIMELINE_H_
#define WANGGE_SERVICES_AUDIT_TIMELINE_H_

// A case's timeline (案件全过程): every event of one case across all
// services, in the order it was recorded, with who did it and when.

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "wangge/common/v1/envelope.pb.h"

namespace wangge::audit {

struct TimelineEntry {
  absl::Time recorded;
  absl::Time occurred;
  std::string service;
  uint32_t partition = 0;
  uint64_t sequence = 0;
  std::string event_type;
  wangge::common::v1::Actor actor;
  std::string payload_json;  // "" when this build cannot decode it
};

class CaseTimeline {
 public:
  explicit CaseTimeline(std::string case_id) : case_id_(std::move(case_id)) {}

  // An event belongs to the case when it is on the case's stream, is
  // correlated with it, or names it as case_id (other services' streams).
  void Add(const std::string& service, uint32_t partition,
           const wangge::common::v1::StoredEvent& event);
  // The same for a record already parsed (by a caller that checks it too).
  void Add(const std::string& service, uint32_t partition,
           const wangge::common::v1::EventEnvelope& env);

  // Ordered by recorded time (then service, partition, sequence).
  std::vector<TimelineEntry> Finish() const;

 private:
  std::string case_id_;
  std::vector<TimelineEntry> entries_;
};

// One line per event: "time  service/partition#sequence  type  by actor".
std::string TimelineText(const std::vector<TimelineEntry>& entries);
std::string TimelineJson(const std::vector<TimelineEntry>& entries);

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_TIMELINE_H_
