#ifndef WANGGE_SERVICES_COMMON_EVENTSTORE_KEY_CODEC_H_
#define WANGGE_SERVICES_COMMON_EVENTSTORE_KEY_CODEC_H_

// Fixed-width big-endian integers for RocksDB keys and values: keys then
// sort as their numbers do.

#include <cstdint>
#include <string>

namespace wangge::eventstore {

inline void PutU32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

inline void PutU64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

inline uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

inline uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace wangge::eventstore

#endif  // WANGGE_SERVICES_COMMON_EVENTSTORE_KEY_CODEC_H_
