#ifndef WANGGE_SERVICES_INTAKE_PRIVACY_KEY_STORE_H_
#define WANGGE_SERVICES_INTAKE_PRIVACY_KEY_STORE_H_

// Reporter keys, in a RocksDB of their own (apart from the events, which
// only ever hold ciphertext). Destroy deletes a key and then compacts and
// purges, so that no file of the key store holds its bytes any more: the
// contact is unreadable for ever while the event log still verifies.
//
// Thread safety: every method may be called from any thread.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"

namespace wangge::intake {

class KeyStore {
 public:
  static absl::StatusOr<std::unique_ptr<KeyStore>> Open(
      const std::string& path);
  ~KeyStore();

  // Durable (fsync'd) before it returns. ALREADY_EXISTS for a key id that
  // has a key: each is written once (one case's key never replaces
  // another's, and Destroy's single delete removes it for good).
  absl::Status Put(const std::string& key_id, const std::string& key);
  absl::StatusOr<std::optional<std::string>> Get(
      const std::string& key_id) const;
  // Deletes the key and rewrites the store without it: memtable flushed,
  // every level compacted, obsolete files and old logs removed.
  absl::Status Destroy(const std::string& key_id);

 private:
  explicit KeyStore(rocksdb::DB* db) : db_(db) {}
  std::unique_ptr<rocksdb::DB> db_;
  absl::Mutex put_mu_;  // the existence check and the write, together
};

}  // namespace wangge::intake

#endif  // WANGGE_SERVICES_INTAKE_PRIVACY_KEY_STORE_H_
