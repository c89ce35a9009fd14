#ifndef WANGGE_SERVICES_COMMON_SERVER_CERTIFICATE_H_
#define WANGGE_SERVICES_COMMON_SERVER_CERTIFICATE_H_

// When a PEM certificate stops being valid. A service reloads its TLS files
// while it runs (cert-manager renews them in the mounted Secret), so the
// chassis exports the expiry of what is on disk at every scrape, and an alert
// fires if that is not renewed in time.

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace wangge::server {

// The notAfter of the first certificate in `pem`.
absl::StatusOr<absl::Time> CertificateNotAfter(const std::string& pem);

// wangge_tls_certificate_expiry_timestamp_seconds{certificate="<name>"}, read
// from each file when scraped. A file that cannot be read or parsed reads 0
// (expired at the epoch), so the expiry alert fires for it too.
class CertificateExpiryCollector : public prometheus::Collectable {
 public:
  // (label, path) pairs, e.g. {"server", "/tls/tls.crt"}.
  explicit CertificateExpiryCollector(
      std::vector<std::pair<std::string, std::string>> files)
      : files_(std::move(files)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const std::vector<std::pair<std::string, std::string>> files_;
};

}  // namespace wangge::server

#endif  // WANGGE_SERVICES_COMMON_SERVER_CERTIFICATE_H_
