#include "services/common/log/log.h"

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace wangge::log {
namespace {

absl::Mutex g_mu;
std::string* g_service ABSL_GUARDED_BY(g_mu) = new std::string("wangge");
std::FILE* g_sink ABSL_GUARDED_BY(g_mu) = stderr;
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

}  // namespace

std::optional<Level> ParseLevel(absl::string_view name) {
  for (Level l :
       {Level::kDebug, Level::kInfo, Level::kWarning, Level::kError}) {
    if (name == LevelName(l)) return l;
  }
  return std::nullopt;
}

void SetService(absl::string_view service) {
  absl::MutexLock lock(&g_mu);
  *g_service = std::string(service);
}

void SetMinLevel(Level level) { g_min_level = static_cast<int>(level); }

void SetSink(std::FILE* sink) {
  absl::MutexLock lock(&g_mu);
  g_sink = sink;
}

std::string FormatLine(Level level, absl::string_view service,
                       absl::string_view message,
                       std::initializer_list<Field> fields) {
  nlohmann::ordered_json line;
  line["time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(),
                                  absl::UTCTimeZone());
  line["level"] = LevelName(level);
  line["service"] = std::string(service);
  line["message"] = std::string(message);
  for (const auto& [key, value] : fields) line[std::string(key)] = value;
  // Replace invalid UTF-8 rather than throw: logs must never take a call down.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Write(Level level, absl::string_view message,
           std::initializer_list<Field> fields) {
  if (static_cast<int>(level) < g_min_level.load()) return;
  absl::MutexLock lock(&g_mu);
  std::string line = FormatLine(level, *g_service, message, fields);
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), g_sink);
  std::fflush(g_sink);
}

}  // namespace wangge::log
