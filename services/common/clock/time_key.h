#ifndef WANGGE_SERVICES_COMMON_CLOCK_TIME_KEY_H_
#define WANGGE_SERVICES_COMMON_CLOCK_TIME_KEY_H_

// Row keys that sort by time: "<microseconds since the epoch, 20 digits>/<id>".
// Timer indexes and time-windowed facts use them, so "due by now" and "in
// this window" are key ranges.

#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace wangge {

inline constexpr size_t kTimeKeyPrefix = 21;  // digits and the slash

inline std::string TimeKey(absl::Time t, const std::string& id) {
  return absl::StrFormat("%020d/%s", absl::ToUnixMicros(t), id);
}

// The id part of a TimeKey.
inline std::string TimeKeyId(const std::string& key) {
  return key.size() > kTimeKeyPrefix ? key.substr(kTimeKeyPrefix) : "";
}

}  // namespace wangge

#endif  // WANGGE_SERVICES_COMMON_CLOCK_TIME_KEY_H_
