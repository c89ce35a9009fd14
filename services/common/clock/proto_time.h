#ifndef WANGGE_SERVICES_COMMON_CLOCK_PROTO_TIME_H_
#define WANGGE_SERVICES_COMMON_CLOCK_PROTO_TIME_H_

// absl::Time <-> google.protobuf.Timestamp (UTC). An unset timestamp reads
// as absl::InfinitePast(). And the RFC 3339 text (UTC) reports print.

#include <google/protobuf/timestamp.pb.h>

#include <string>

#include "absl/time/time.h"

namespace wangge {

inline google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  int64_t seconds = nanos / 1000000000;
  int64_t rest = nanos % 1000000000;
  if (rest < 0) {
    rest += 1000000000;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(rest));
  return ts;
}

inline absl::Time FromProto(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return absl::InfinitePast();
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

inline std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

}  // namespace wangge

#endif  // WANGGE_SERVICES_COMMON_CLOCK_PROTO_TIME_H_
