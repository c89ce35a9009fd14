#ifndef WANGGE_SERVICES_INTAKE_PRIVACY_CONTACT_CRYPTO_H_
#define WANGGE_SERVICES_INTAKE_PRIVACY_CONTACT_CRYPTO_H_

// Encryption of reporters' personal data (PIPL). Standard suite: AES-256-GCM
// (32-byte key; nonce 12 || ciphertext || tag 16). 国密 suite: SM4-CTR with
// HMAC-SM3, encrypt then MAC (OpenSSL 3.0 here has no SM4-GCM): a 48-byte
// key = SM4 key 16 || MAC key 32; IV 16 || ciphertext || MAC 32 over
// (associated data || IV || ciphertext). The associated data (the case id)
// binds a ciphertext to its case.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace wangge::intake {

enum class CipherSuite { kStandard, kGuomi };

// A fresh random key for the suite.
std::string NewContactKey(CipherSuite suite);

absl::StatusOr<std::string> EncryptContact(CipherSuite suite,
                                           absl::string_view key,
                                           absl::string_view plaintext,
                                           absl::string_view associated);
// DATA_LOSS when the ciphertext, its tag or the associated data was altered.
absl::StatusOr<std::string> DecryptContact(CipherSuite suite,
                                           absl::string_view key,
                                           absl::string_view ciphertext,
                                           absl::string_view associated);

}  // namespace wangge::intake

#endif  // WANGGE_SERVICES_INTAKE_PRIVACY_CONTACT_CRYPTO_H_
