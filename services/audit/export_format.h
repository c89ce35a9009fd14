#ifndef WANGGE_SERVICES_AUDIT_EXPORT_FORMAT_H_
#define WANGGE_SERVICES_AUDIT_EXPORT_FORMAT_H_

// The export: JSON Lines, one stored event per line, with the record bytes
// (base64) and both hashes (hex) beside a readable summary. Every check that
// runs on a live source runs on an export: only record and hashes count.
//
//   {"service":"intake","partition":0,"sequence":1,"record":"...",
//    "leaf_hash":"...","chain_hash":"...","event_type":"...",
//    "stream_id":"case/C...","occurred_time":"...","payload":{...}}

#include <string>

#include "absl/status/statusor.h"
#include "wangge/common/v1/envelope.pb.h"

namespace wangge::audit {

struct ExportedEvent {
  std::string service;
  uint32_t partition = 0;
  wangge::common::v1::StoredEvent event;
};

// The payload as JSON (proto field names), or "" for a type this build
// does not know or bytes that do not parse.
std::string PayloadJson(const wangge::common::v1::EventEnvelope& envelope);

std::string ExportLine(const std::string& service, uint32_t partition,
                       const wangge::common::v1::StoredEvent& event);
absl::StatusOr<ExportedEvent> ParseExportLine(const std::string& line);

}  // namespace wangge::audit

#endif  // WANGGE_SERVICES_AUDIT_EXPORT_FORMAT_H_
