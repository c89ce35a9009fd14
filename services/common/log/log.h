#ifndef WANGGE_SERVICES_COMMON_LOG_LOG_H_
#define WANGGE_SERVICES_COMMON_LOG_LOG_H_

// Structured logs: one JSON object per line on stderr, with level, time,
// service and message, plus any fields given (method, case_id, ...).
//
//   wangge::log::Info("report accepted", {{"case_id", id}});
//
// Thread safety: lines from concurrent callers never interleave.

#include <cstdio>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace wangge::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// "debug", "info", "warning" or "error" (the names in log lines and in
// --log_level); nullopt for anything else.
std::optional<Level> ParseLevel(absl::string_view name);

using Field = std::pair<absl::string_view, std::string>;

// Set once at start by the chassis.
void SetService(absl::string_view service);
void SetMinLevel(Level level);
// Where lines go (default stderr); for tests.
void SetSink(std::FILE* sink);

void Write(Level level, absl::string_view message,
           std::initializer_list<Field> fields = {});

inline void Debug(absl::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kDebug, m, f);
}
inline void Info(absl::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, m, f);
}
inline void Warning(absl::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kWarning, m, f);
}
inline void Error(absl::string_view m, std::initializer_list<Field> f = {}) {
  Write(Level::kError, m, f);
}

// Formats one line without writing it (used by Write, and by tests).
std::string FormatLine(Level level, absl::string_view service,
                       absl::string_view message,
                       std::initializer_list<Field> fields);

}  // namespace wangge::log

#endif  // WANGGE_SERVICES_COMMON_LOG_LOG_H_
