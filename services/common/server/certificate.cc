#include "services/common/server/certificate.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

#include "services/common/files/files.h"

namespace wangge::server {

absl::StatusOr<absl::Time> CertificateNotAfter(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return absl::InternalError("BIO_new_mem_buf");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) return absl::InvalidArgumentError("not a PEM certificate");
  std::tm tm = {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1) {
    return absl::InvalidArgumentError("the certificate's notAfter is invalid");
  }
  return absl::FromUnixSeconds(static_cast<int64_t>(timegm(&tm)));
}

std::vector<prometheus::MetricFamily> CertificateExpiryCollector::Collect()
    const {
  prometheus::MetricFamily family;
  family.name = "wangge_tls_certificate_expiry_timestamp_seconds";
  family.help =
      "When the TLS certificate on disk, which this process serves (reloaded "
      "while it runs), expires (Unix seconds)";
  family.type = prometheus::MetricType::Gauge;
  for (const auto& [label, path] : files_) {
    auto pem = files::ReadFileToString(path);
    absl::StatusOr<absl::Time> not_after =
        pem.ok() ? CertificateNotAfter(*pem) : pem.status();
    prometheus::ClientMetric metric;
    metric.label.push_back({"certificate", label});
    // Unreadable reads as expired long ago: the expiry alert fires at once.
    metric.gauge.value =
        not_after.ok() ? static_cast<double>(absl::ToUnixSeconds(*not_after))
                       : 0;
    family.metric.push_back(std::move(metric));
  }
  return {family};
}

}  // namespace wangge::server
