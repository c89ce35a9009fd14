#ifndef WANGGE_SERVICES_COMMON_FILES_GZIP_H_
#define WANGGE_SERVICES_COMMON_FILES_GZIP_H_

// gzip (RFC 1952) through zlib, for documents too large to send as they
// are: a Chengdu-sized deployment is ~77 MB of JSON and ~8 MB gzipped.

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wangge::files {

// INVALID_ARGUMENT for more than 4 GiB (zlib's counters), INTERNAL if zlib
// cannot start (out of memory).
absl::StatusOr<std::string> Gzip(absl::string_view data);

// The inflated bytes; INVALID_ARGUMENT if `data` is not one whole gzip
// stream, or inflates to more than `max_bytes` (stopped there: a small
// input can expand a thousandfold).
absl::StatusOr<std::string> Gunzip(absl::string_view data, size_t max_bytes);

}  // namespace wangge::files

#endif  // WANGGE_SERVICES_COMMON_FILES_GZIP_H_
