#ifndef WANGGE_SERVICES_COMMON_FILES_FILES_H_
#define WANGGE_SERVICES_COMMON_FILES_FILES_H_

// Whole-file reads and crash-safe writes (keys, certificates, tokens,
// bootstrap files).

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wangge::files {

absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Writes to a temporary file, fsyncs, then renames over `path`: a reader
// sees the old content or the new, never a torn file.
absl::Status WriteFileAtomically(const std::string& path,
                                 const std::string& content, int mode = 0644);

}  // namespace wangge::files

#endif  // WANGGE_SERVICES_COMMON_FILES_FILES_H_
