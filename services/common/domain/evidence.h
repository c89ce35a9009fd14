#ifndef WANGGE_SERVICES_COMMON_DOMAIN_EVIDENCE_H_
#define WANGGE_SERVICES_COMMON_DOMAIN_EVIDENCE_H_

// Evidence (photos, recordings) travels as references: the SHA-256 of each
// file, never the file. Every service that takes evidence checks it alike.

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/common/status/errors.h"

namespace wangge::domain {

// INVALID_ARGUMENT naming `evidence_sha256[i]` for the first entry that is
// not 64 lower-case hex characters. `Strings`: any container of std::string.
// At most kMaxEvidence entries: every event is kept for ever.
inline constexpr size_t kMaxEvidence = 20;
template <typename Strings>
absl::Status ValidEvidence(const Strings& evidence) {
  if (static_cast<size_t>(evidence.size()) > kMaxEvidence) {
    return status::InvalidField("evidence_sha256",
                                absl::StrCat("at most ", kMaxEvidence));
  }
  size_t i = 0;
  for (const std::string& h : evidence) {
    if (h.size() != 64 ||
        h.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return status::InvalidField(absl::StrCat("evidence_sha256[", i, "]"),
                                  "64 lower-case hex characters");
    }
    ++i;
  }
  return absl::OkStatus();
}

// Free text (a note, a purpose, a reason) goes into an event kept for ever:
// at most `max_bytes` (6,000 bytes: 2,000 Chinese characters).
inline absl::Status ValidText(const std::string& field, const std::string& text,
                              size_t max_bytes = 6000) {
  if (text.size() > max_bytes) {
    return status::InvalidField(field,
                                absl::StrCat("at most ", max_bytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace wangge::domain

#endif  // WANGGE_SERVICES_COMMON_DOMAIN_EVIDENCE_H_
