#include "services/common/files/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace wangge::files {
namespace {
// windowBits 15 with 16 added: a gzip header and trailer, not zlib's.
constexpr int kGzipWindow = 15 + 16;
}  // namespace

absl::StatusOr<std::string> Gzip(absl::string_view data) {
  if (data.size() > UINT_MAX) {
    return absl::InvalidArgumentError("gzip input larger than 4 GiB");
  }
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindow, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return absl::InternalError("zlib: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&z, data.size()));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  // The bound holds it all: one call ends the stream.
  const int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    return absl::InternalError(absl::StrCat("zlib: deflate returned ", rc));
  }
  return out;
}

absl::StatusOr<std::string> Gunzip(absl::string_view data, size_t max_bytes) {
  if (data.size() > UINT_MAX) {
    return absl::InvalidArgumentError("gzip input larger than 4 GiB");
  }
  z_stream z{};
  if (inflateInit2(&z, kGzipWindow) != Z_OK) {
    return absl::InternalError("zlib: inflateInit2 failed");
  }
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  int rc = Z_OK;
  while (rc == Z_OK) {
    // One byte beyond the cap is room enough to tell "more" from "done".
    if (out.size() > max_bytes) break;
    const size_t room =
        std::min<size_t>(max_bytes - out.size() + 1, size_t{1} << 20);
    const size_t before = out.size();
    out.resize(before + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    z.avail_out = static_cast<uInt>(room);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(before + (room - z.avail_out));
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // truncated input
  }
  const bool whole = rc == Z_STREAM_END && z.avail_in == 0;
  inflateEnd(&z);
  if (out.size() > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("inflates to more than ", max_bytes, " bytes"));
  }
  if (!whole) {
    return absl::InvalidArgumentError(
        rc == Z_STREAM_END ? "bytes after the end of the gzip stream"
                           : "not a whole gzip stream");
  }
  return out;
}

}  // namespace wangge::files
