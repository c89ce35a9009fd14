#ifndef WANGGE_SERVICES_COMMON_CRYPTO_CRYPTO_H_
#define WANGGE_SERVICES_COMMON_CRYPTO_CRYPTO_H_

// Hashes and signatures by setting, through OpenSSL 3.0's EVP: SHA-256 with
// Ed25519 (default), or 国密 SM3 with SM2. SM2 signs with the GB/T 32918
// default identity "1234567812345678", set explicitly (OpenSSL 3.0's default
// is empty), so `openssl pkeyutl -verify -rawin -digest sm3
// -pkeyopt distid:1234567812345678` verifies our signatures.
//
// Thread safety: Hasher, Signer and Verifier are immutable after creation and
// safe for concurrent use.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "wangge/common/v1/checkpoint.pb.h"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_md_st EVP_MD;

namespace wangge::crypto {

inline constexpr char kSm2DefaultId[] = "1234567812345678";

class Hasher {
 public:
  explicit Hasher(wangge::common::v1::HashAlgorithm algorithm);
  wangge::common::v1::HashAlgorithm algorithm() const { return algorithm_; }
  // H(data), 32 bytes for both algorithms.
  std::string Hash(absl::string_view data) const;
  // H(a || b) without concatenating.
  std::string Hash2(absl::string_view a, absl::string_view b) const;
  // H(prefix || a || b): RFC 6962 leaves (0x00) and nodes (0x01).
  std::string HashPrefixed(char prefix, absl::string_view a,
                           absl::string_view b = {}) const;

 private:
  wangge::common::v1::HashAlgorithm algorithm_;
  const EVP_MD* md_;
};

// An incremental hash (state digests over many rows).
class StreamingHash {
 public:
  explicit StreamingHash(wangge::common::v1::HashAlgorithm algorithm);
  ~StreamingHash();
  StreamingHash(const StreamingHash&) = delete;
  StreamingHash& operator=(const StreamingHash&) = delete;
  void Update(absl::string_view data);
  std::string Final();

 private:
  void* ctx_;  // EVP_MD_CTX
};

class Signer {
 public:
  ~Signer();
  // From a PEM private key (Ed25519 or SM2) and its key id.
  static absl::StatusOr<std::unique_ptr<Signer>> FromPem(absl::string_view pem,
                                                         std::string key_id);
  // A fresh key, for tests and first starts in development.
  static absl::StatusOr<std::unique_ptr<Signer>> Generate(
      wangge::common::v1::SignatureAlgorithm algorithm, std::string key_id);

  absl::StatusOr<std::string> Sign(absl::string_view message) const;
  wangge::common::v1::SignatureAlgorithm algorithm() const {
    return algorithm_;
  }
  const std::string& key_id() const { return key_id_; }
  std::string PrivateKeyPem() const;
  std::string PublicKeyPem() const;

 private:
  Signer(EVP_PKEY* key, wangge::common::v1::SignatureAlgorithm algorithm,
         std::string key_id);
  EVP_PKEY* key_;
  wangge::common::v1::SignatureAlgorithm algorithm_;
  std::string key_id_;
};

class Verifier {
 public:
  ~Verifier();
  static absl::StatusOr<std::unique_ptr<Verifier>> FromPem(
      absl::string_view public_pem);
  // OK, or an error naming why the signature does not verify.
  absl::Status Verify(absl::string_view message,
                      absl::string_view signature) const;
  wangge::common::v1::SignatureAlgorithm algorithm() const {
    return algorithm_;
  }

 private:
  Verifier(EVP_PKEY* key, wangge::common::v1::SignatureAlgorithm algorithm);
  EVP_PKEY* key_;
  wangge::common::v1::SignatureAlgorithm algorithm_;
};

// The exact text a checkpoint's signature covers (one "name value" per
// line), so any tool can rebuild and check it.
std::string CheckpointSignedText(const wangge::common::v1::Checkpoint& c);

// Signs `c` in place (sets key_id, algorithms and signature).
absl::Status SignCheckpoint(const Signer& signer,
                            wangge::common::v1::HashAlgorithm hash,
                            wangge::common::v1::Checkpoint* c);
absl::Status VerifyCheckpoint(const Verifier& verifier,
                              const wangge::common::v1::Checkpoint& c);

std::string ToHex(absl::string_view bytes);

}  // namespace wangge::crypto

#endif  // WANGGE_SERVICES_COMMON_CRYPTO_CRYPTO_H_
