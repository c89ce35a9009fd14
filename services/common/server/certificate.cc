#include "services/common/server/certificate.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>

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

}  // namespace wangge::server
