#include "services/intake/privacy/key_store.h"

#include "absl/strings/str_cat.h"

namespace wangge::intake {
namespace {

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("key store ", what, ": ", s.ToString()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<KeyStore>> KeyStore::Open(
    const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  // Old write-ahead logs would keep destroyed keys: delete them at once, and
  // never keep info logs that might echo values.
  options.WAL_ttl_seconds = 0;
  options.WAL_size_limit_MB = 0;
  options.keep_log_file_num = 1;
  options.compression = rocksdb::kNoCompression;
  rocksdb::DB* db = nullptr;
  absl::Status s = FromRocks(rocksdb::DB::Open(options, path, &db), "open");
  if (!s.ok()) return s;
  return std::unique_ptr<KeyStore>(new KeyStore(db));
}

KeyStore::~KeyStore() {
  if (db_) db_->Close();
}

absl::Status KeyStore::Put(const std::string& key_id, const std::string& key) {
  absl::MutexLock lock(&put_mu_);
  std::string existing;
  rocksdb::Status found = db_->Get(rocksdb::ReadOptions(), key_id, &existing);
  if (found.ok()) {
    return absl::AlreadyExistsError(absl::StrCat("a key exists for ", key_id));
  }
  if (!found.IsNotFound()) return FromRocks(found, "get");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, key_id, key), "put");
}

absl::StatusOr<std::optional<std::string>> KeyStore::Get(
    const std::string& key_id) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key_id, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "get");
  return std::optional<std::string>(std::move(value));
}

absl::Status KeyStore::Destroy(const std::string& key_id) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  absl::Status s = FromRocks(db_->SingleDelete(wo, key_id), "delete");
  if (!s.ok()) return s;
  // Flush the memtable (the key's bytes may still sit in it and in the WAL),
  // then compact every level with the bottommost level rewritten too, so
  // the tombstone meets the value and both are dropped.
  s = FromRocks(db_->Flush(rocksdb::FlushOptions()), "flush");
  if (!s.ok()) return s;
  rocksdb::CompactRangeOptions cro;
  cro.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  s = FromRocks(db_->CompactRange(cro, nullptr, nullptr), "compact");
  if (!s.ok()) return s;
  // Obsolete SST and WAL files go now rather than later.
  return FromRocks(db_->FlushWAL(/*sync=*/true), "wal");
}

}  // namespace wangge::intake
