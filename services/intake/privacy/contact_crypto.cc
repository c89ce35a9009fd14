#include "services/intake/privacy/contact_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace wangge::intake {
namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

std::string Random(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                 static_cast<int>(n)) != 1) {
    // No key or nonce from a failed generator (all zeros would repeat):
    // stopping is the only safe answer, and a restart reseeds it.
    std::fprintf(stderr, "intake: the random generator failed\n");
    std::abort();
  }
  return out;
}

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status Corrupt() {
  return absl::DataLossError("contact ciphertext does not authenticate");
}

std::string HmacSm3(absl::string_view key, absl::string_view a,
                    absl::string_view b) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  std::string data(a);
  data.append(b.data(), b.size());
  HMAC(EVP_sm3(), key.data(), static_cast<int>(key.size()), U(data),
       data.size(), out, &n);
  return std::string(reinterpret_cast<char*>(out), n);
}

absl::StatusOr<std::string> Sm4Ctr(absl::string_view key, absl::string_view iv,
                                   absl::string_view in) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string out(in.size(), '\0');
  int n = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_sm4_ctr(), nullptr, U(key), U(iv)) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()),
                        &n, U(in), static_cast<int>(in.size())) != 1) {
    return absl::InternalError("SM4-CTR failed");
  }
  return out;
}

}  // namespace

std::string NewContactKey(CipherSuite suite) {
  return Random(suite == CipherSuite::kGuomi ? 48 : 32);
}

absl::StatusOr<std::string> EncryptContact(CipherSuite suite,
                                           absl::string_view key,
                                           absl::string_view plaintext,
                                           absl::string_view associated) {
  if (suite == CipherSuite::kGuomi) {
    if (key.size() != 48)
      return absl::InvalidArgumentError("SM4/HMAC-SM3 key is 48 bytes");
    const std::string iv = Random(16);
    auto ct = Sm4Ctr(key.substr(0, 16), iv, plaintext);
    if (!ct.ok()) return ct.status();
    std::string out = iv + *ct;
    out += HmacSm3(key.substr(16), associated, out);
    return out;
  }
  if (key.size() != 32)
    return absl::InvalidArgumentError("AES-256 key is 32 bytes");
  const std::string nonce = Random(12);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string ct(plaintext.size(), '\0');
  int n = 0;
  unsigned char tag[16];
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key),
                         U(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, U(associated),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(ct.data()),
                        &n, U(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), nullptr, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) {
    return absl::InternalError("AES-256-GCM failed");
  }
  return nonce + ct + std::string(reinterpret_cast<char*>(tag), 16);
}

absl::StatusOr<std::string> DecryptContact(CipherSuite suite,
                                           absl::string_view key,
                                           absl::string_view ciphertext,
                                           absl::string_view associated) {
  if (suite == CipherSuite::kGuomi) {
    if (key.size() != 48 || ciphertext.size() < 16 + 32) return Corrupt();
    absl::string_view body = ciphertext.substr(0, ciphertext.size() - 32);
    const std::string mac = HmacSm3(key.substr(16), associated, body);
    if (CRYPTO_memcmp(mac.data(), ciphertext.data() + body.size(), 32) != 0) {
      return Corrupt();
    }
    return Sm4Ctr(key.substr(0, 16), body.substr(0, 16), body.substr(16));
  }
  if (key.size() != 32 || ciphertext.size() < 12 + 16) return Corrupt();
  absl::string_view nonce = ciphertext.substr(0, 12);
  absl::string_view ct = ciphertext.substr(12, ciphertext.size() - 28);
  std::string tag(ciphertext.substr(ciphertext.size() - 16));
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  std::string pt(ct.size(), '\0');
  int n = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key),
                         U(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, U(associated),
                        static_cast<int>(associated.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(pt.data()),
                        &n, U(ct), static_cast<int>(ct.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) !=
          1 ||
      EVP_DecryptFinal_ex(ctx.get(), nullptr, &n) != 1) {
    return Corrupt();
  }
  return pt;
}

}  // namespace wangge::intake
