#ifndef WANGGE_SERVICES_COMMON_SERVER_CERTIFICATE_H_
#define WANGGE_SERVICES_COMMON_SERVER_CERTIFICATE_H_

// When a PEM certificate stops being valid. A service reads its TLS files at
// start, so a renewed certificate on disk is not the one it serves until it
// restarts: the chassis exports the expiry of what it loaded, and an alert
// watches that rather than the renewal.

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace wangge::server {

// The notAfter of the first certificate in `pem`.
absl::StatusOr<absl::Time> CertificateNotAfter(const std::string& pem);

}  // namespace wangge::server

#endif  // WANGGE_SERVICES_COMMON_SERVER_CERTIFICATE_H_
