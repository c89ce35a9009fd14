#include "services/common/eventstore/event_store.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "services/common/eventstore/key_codec.h"
#include "services/common/log/log.h"
#include "services/common/status/errors.h"
#include "services/common/status/status_macros.h"

namespace wangge::eventstore {
namespace {

using wangge::common::v1::CommandRecord;
using wangge::common::v1::EventEnvelope;
using wangge::common::v1::Position;
using wangge::common::v1::StoredEvent;

constexpr char kPartitionsKey[] = "partitions";
// The log's column families: "events.<p>"; "events" alone in a store
// created before the log was split by partition.
constexpr char kSharedLogFamily[] = "events";
constexpr char kLogFamilyPrefix[] = "events.";
std::string LogFamily(int partition) {
  return absl::StrCat(kLogFamilyPrefix, partition);
}
constexpr char kCheckpointPrefix[] = "checkpoint/";
constexpr char kConsumedPrefix[] = "consumed/";
constexpr size_t kMaxStreamIdBytes = 512;
// Merkle nodes below this level are recomputed from at most 2^(level-1)
// adjacent leaves instead of stored: one write per 16 events, not per event.
constexpr int kLowestStoredLevel = 4;

std::string U64(uint64_t v) {
  std::string s;
  PutU64(&s, v);
  return s;
}

std::string StreamKey(const std::string& stream_id, uint64_t version) {
  std::string k = stream_id;
  k.push_back('\0');
  PutU64(&k, version);
  return k;
}

// The stream's current version, one point lookup (bloom-filtered, so a new
// stream costs no disk read). Sorts after the stream's version keys.
std::string StreamHeadKey(const std::string& stream_id) {
  std::string k = stream_id;
  k.push_back('\x01');
  return k;
}

// Stream index value: where a run of the stream's events lies.
std::string StreamRange(uint32_t partition, uint64_t first_sequence,
                        uint32_t count) {
  std::string v;
  PutU32(&v, partition);
  PutU64(&v, first_sequence);
  PutU32(&v, count);
  return v;
}

std::string MerkleKey(uint32_t partition, int level, uint64_t index) {
  std::string k;
  PutU32(&k, partition);
  k.push_back(static_cast<char>(level));
  PutU64(&k, index);
  return k;
}

// Every checkpoint key of a partition starts with this.
std::string CheckpointPrefix(uint32_t partition) {
  std::string k = kCheckpointPrefix;
  PutU32(&k, partition);
  return k;
}

std::string CheckpointKey(uint32_t partition, uint64_t size) {
  std::string k = CheckpointPrefix(partition);
  PutU64(&k, size);
  return k;
}

// Positions `it` on the partition's newest checkpoint of a tree no larger
// than `max_size`; false if it has none.
bool SeekLatestCheckpoint(rocksdb::Iterator* it, uint32_t partition,
                          uint64_t max_size = UINT64_MAX) {
  it->SeekForPrev(CheckpointKey(partition, max_size));
  return it->Valid() && it->key().starts_with(CheckpointPrefix(partition));
}

std::string ProjectionKey(const std::string& projection,
                          const std::string& key) {
  std::string k = projection;
  k.push_back('\0');
  k.append(key);
  return k;
}

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t nanos = absl::ToUnixNanos(t);
  ts->set_seconds(nanos / 1000000000);
  ts->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNotFound())
    return absl::NotFoundError(absl::StrCat(what, ": ", s.ToString()));
  if (s.IsCorruption())
    return absl::DataLossError(absl::StrCat(what, ": ", s.ToString()));
  return absl::UnavailableError(absl::StrCat(what, ": ", s.ToString()));
}

absl::Status ValidateStreamId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("stream id is empty");
  if (id.size() > kMaxStreamIdBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("stream id longer than ", kMaxStreamIdBytes, " bytes"));
  }
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          "stream id contains a control character");
    }
  }
  return absl::OkStatus();
}

constexpr size_t kRowDigestPiece = 64 << 10;

// A retried command's answer: the first one, as recorded with it.
AppendResult FirstResult(const CommandRecord& record) {
  AppendResult result;
  result.duplicate = true;
  result.positions.assign(record.positions().begin(), record.positions().end());
  result.stream_versions.assign(record.stream_versions().begin(),
                                record.stream_versions().end());
  result.command_response = record.response();
  return result;
}

}  // namespace

void RowDigest::Add(absl::string_view key, absl::string_view value) {
  ++rows_;
  PutU64(&pending_, key.size());
  pending_.append(key.data(), key.size());
  PutU64(&pending_, value.size());
  if (value.size() >= kRowDigestPiece) {  // hashed in place, not copied
    Flush();
    hash_.Update(value);
    return;
  }
  pending_.append(value.data(), value.size());
  if (pending_.size() >= kRowDigestPiece) Flush();
}

void RowDigest::Flush() {
  if (pending_.empty()) return;
  hash_.Update(pending_);
  pending_.clear();
}

std::pair<std::string, uint64_t> RowDigest::Finish() {
  Flush();
  return {hash_.Final(), rows_};
}

std::string EventKey(uint32_t partition, uint64_t sequence) {
  std::string k;
  PutU32(&k, partition);
  PutU64(&k, sequence);
  return k;
}

std::string ConsumedKey(const std::string& service, uint32_t partition) {
  std::string k = absl::StrCat(kConsumedPrefix, service, "/");
  PutU32(&k, partition);
  return k;
}

bool ParseStoredEventView(absl::string_view bytes, StoredEventView* view) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  *view = StoredEventView{};
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return true;
    const int field = static_cast<int>(tag >> 3);
    if ((tag & 7) != 2) return false;  // all three fields are bytes
    uint32_t len;
    if (!in.ReadVarint32(&len)) return false;
    const int at = in.CurrentPosition();
    if (len > bytes.size() - at) return false;
    absl::string_view value = bytes.substr(at, len);
    if (field == 1) view->record = value;
    if (field == 2) view->leaf_hash = value;
    if (field == 3) view->chain_hash = value;
    if (!in.Skip(static_cast<int>(len))) return false;
  }
}

NewEvent MakeEvent(const google::protobuf::Message& payload,
                   uint32_t schema_version) {
  NewEvent e;
  e.type = payload.GetDescriptor()->full_name();
  e.payload = payload.SerializeAsString();
  e.schema_version = schema_version;
  return e;
}

EventStore::EventStore(Options options)
    : options_(std::move(options)), hasher_(options_.hash_algorithm) {}

absl::StatusOr<std::unique_ptr<EventStore>> EventStore::Open(Options options) {
  if (options.service.empty()) {
    return absl::InvalidArgumentError("event store needs a service name");
  }
  if (options.partitions < 1 || options.partitions > 1024) {
    return absl::InvalidArgumentError("partitions must be 1..1024");
  }
  std::unique_ptr<EventStore> store(new EventStore(std::move(options)));
  absl::Status s = store->Load();
  if (!s.ok()) return s;
  store->writer_ = std::thread([s = store.get()] { s->WriterLoop(); });
  store->syncer_ = std::thread([s = store.get()] { s->SyncerLoop(); });
  return store;
}

absl::Status EventStore::Load() {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  statistics_ = rocksdb::CreateDBStatistics();
  db_options.statistics = statistics_;
  // Memory is bounded whatever the history's size: memtables of all column
  // families together flush at 32 MiB, and every table shares one 32 MiB
  // block cache (docs/benchmarks.md: resident size at a million cases;
  // with 64 MiB of memtables intake reached 205 MiB under load).
  db_options.db_write_buffer_size = 32 << 20;
  rocksdb::BlockBasedTableOptions shared_cache;
  // 16 shards of 2 MiB: a block larger than its shard would be read from
  // disk at every use.
  shared_cache.block_cache = rocksdb::NewLRUCache(
      32 << 20, /*num_shard_bits=*/4, /*strict_capacity_limit=*/false,
      /*high_pri_pool_ratio=*/0.5);
  // Index and filter blocks in that cache too (by default every open table
  // keeps its own outside any budget: memory then grows with the history),
  // partitioned into ~4 KiB pieces: a whole table's filter is megabytes, and
  // a cache that cannot hold it re-read and checksummed it at every stream
  // head lookup (appends fell to ~6,000/s at two million events).
  shared_cache.cache_index_and_filter_blocks = true;
  shared_cache.cache_index_and_filter_blocks_with_high_priority = true;
  shared_cache.pin_l0_filter_and_index_blocks_in_cache = true;
  shared_cache.pin_top_level_index_and_filter = true;
  shared_cache.index_type =
      rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  shared_cache.partition_filters = true;
  shared_cache.metadata_block_size = 4096;
  // XXH3 block checksums (block checksums were an eighth of a replay's
  // profile with CRC32C; after the switch the difference was within the
  // VM's noise, but XXH3 needs no CPU support to be fast). Tables written
  // before keep theirs; each table names its own.
  shared_cache.checksum = rocksdb::kXXH3;
  rocksdb::ColumnFamilyOptions plain;
  plain.table_factory.reset(rocksdb::NewBlockBasedTableFactory(shared_cache));

  rocksdb::ColumnFamilyOptions point_lookups;
  rocksdb::BlockBasedTableOptions table = shared_cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  point_lookups.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // A bloom filter over the memtable too: most lookups here miss (a new
  // stream's head, a new command id), and a miss otherwise walks the
  // skiplist (a fifth of the writer's time with single-event appends).
  point_lookups.memtable_whole_key_filtering = true;
  point_lookups.memtable_prefix_bloom_size_ratio = 0.02;
  // Events and Merkle nodes arrive in key order within a partition: insert
  // hints per partition prefix turn skiplist inserts into appends.
  rocksdb::ColumnFamilyOptions sequential = plain;
  sequential.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(4));
  // 16 KiB blocks (~50 events): a replay pays per block (cache lookup,
  // checksum, prefetch), 4 KiB blocks made that a third of its time.
  rocksdb::BlockBasedTableOptions log_table = shared_cache;
  log_table.block_size = 16 << 10;
  sequential.table_factory.reset(rocksdb::NewBlockBasedTableFactory(log_table));
  // The log is written once and read in order: LZ4 (cheaper than Snappy on
  // two cores) for what is compacted; half the memtable budget at most.
  sequential.write_buffer_size = 16 << 20;
  sequential.compression = rocksdb::kLZ4Compression;
  rocksdb::ColumnFamilyOptions sequential_lookups = point_lookups;
  sequential_lookups.memtable_insert_with_hint_prefix_extractor.reset(
      rocksdb::NewFixedPrefixTransform(4));

  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, plain},
      {"streams", point_lookups},
      {"merkle", sequential_lookups},
      {"commands", point_lookups},
      {"projections", plain},
  };
  // The log: one column family per partition, so each one's keys only ever
  // grow and a flushed table never overlaps an older one (compaction moves
  // it down without rewriting it). In one shared family every flush spanned
  // all partitions and every compaction rewrote them: a quarter of the CPU
  // of batched appends. A store created before keeps its one "events".
  std::vector<std::string> existing;
  if (!rocksdb::DB::ListColumnFamilies(db_options, options_.path, &existing)
           .ok()) {
    existing.clear();  // a new store
  }
  if (existing.empty()) {
    for (int p = 0; p < options_.partitions; ++p)
      existing.push_back(LogFamily(p));
  }
  bool shared_log = false;
  for (const std::string& name : existing) {
    shared_log = shared_log || name == kSharedLogFamily;
    if (name == kSharedLogFamily || absl::StartsWith(name, kLogFamilyPrefix))
      families.push_back({name, sequential});
  }
  rocksdb::DB* raw = nullptr;
  absl::Status s = FromRocks(
      rocksdb::DB::Open(db_options, options_.path, families, &handles_, &raw),
      absl::StrCat("open ", options_.path));
  if (!s.ok()) return s;
  db_.reset(raw);
  meta_cf_ = handles_[0];
  streams_cf_ = handles_[1];
  merkle_cf_ = handles_[2];
  commands_cf_ = handles_[3];
  projections_cf_ = handles_[4];

  // The partition count is fixed when the store is created.
  std::string stored;
  rocksdb::Status rs =
      db_->Get(rocksdb::ReadOptions(), meta_cf_, kPartitionsKey, &stored);
  if (rs.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = FromRocks(db_->Put(wo, meta_cf_, kPartitionsKey,
                           std::to_string(options_.partitions)),
                  "write partitions");
    if (!s.ok()) return s;
  } else if (!rs.ok()) {
    return FromRocks(rs, "read partitions");
  } else if (stored != std::to_string(options_.partitions)) {
    return absl::FailedPreconditionError(
        absl::StrCat("store ", options_.path, " has ", stored,
                     " partitions; started with ", options_.partitions));
  }
  for (int p = 0; p < options_.partitions; ++p) {
    const std::string name = shared_log ? kSharedLogFamily : LogFamily(p);
    auto h = std::find_if(handles_.begin(), handles_.end(),
                          [&](auto* h) { return h->GetName() == name; });
    if (h == handles_.end()) {
      return absl::DataLossError(
          absl::StrCat("store ", options_.path, ": no column family ", name));
    }
    log_cfs_.push_back(*h);
  }

  states_.clear();
  heads_.assign(options_.partitions, 0);
  const absl::Time now = options_.clock->Now();
  for (int p = 0; p < options_.partitions; ++p) {
    PartitionState state{0, "", merkle::CompactRange(&hasher_), 0, now};
    const uint32_t part = static_cast<uint32_t>(p);
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), log_cfs_[p]));
    it->SeekForPrev(EventKey(p, UINT64_MAX));
    if (it->Valid() && it->key().size() == 12 &&
        GetU32(it->key().data()) == static_cast<uint32_t>(p)) {
      StoredEvent last;
      if (!last.ParseFromArray(it->value().data(), it->value().size())) {
        return absl::DataLossError(
            absl::StrCat("partition ", p, ": last event does not parse"));
      }
      state.head = GetU64(it->key().data() + 4);
      state.chain = last.chain_hash();
    }
    auto range = merkle::CompactRange::Load(
        &hasher_, state.head,
        [&](int level, uint64_t index) { return Node(part, level, index); });
    if (!range.ok()) return range.status();
    state.range = std::move(*range);
    std::unique_ptr<rocksdb::Iterator> ck(
        db_->NewIterator(rocksdb::ReadOptions(), meta_cf_));
    if (SeekLatestCheckpoint(ck.get(), p)) {
      state.last_checkpoint_seq =
          GetU64(ck->key().data() + ck->key().size() - 8) + 1;
    }
    heads_[p] = state.head;
    written_heads_.push_back(state.head);
    states_.push_back(std::move(state));
  }

  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), meta_cf_));
  for (it->Seek(kConsumedPrefix);
       it->Valid() && it->key().starts_with(kConsumedPrefix); it->Next()) {
    if (it->value().size() != 8) continue;
    consumed_[it->key().ToString()] = GetU64(it->value().data());
  }
  return absl::OkStatus();
}

EventStore::~EventStore() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  if (writer_.joinable()) writer_.join();
  {
    absl::MutexLock lock(&heads_mu_);
    syncer_stopping_ = true;  // after a last fsync of what is written
  }
  if (syncer_.joinable()) syncer_.join();
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  if (db_) db_->Close();
}

uint32_t EventStore::PartitionOf(const std::string& stream_id) const {
  // FNV-1a 64: stable across versions and simple for outside tools.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : stream_id) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<uint32_t>(h % static_cast<uint64_t>(options_.partitions));
}

absl::Status EventStore::CheckPartition(uint32_t partition) const {
  if (partition < log_cfs_.size()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("partition ", partition, " of ", options_.partitions));
}

uint64_t EventStore::wal_syncs() const {
  return statistics_->getTickerCount(rocksdb::WAL_FILE_SYNCED);
}

absl::StatusOr<std::string> EventStore::Node(uint32_t partition, int level,
                                             uint64_t index) const {
  std::string value;
  RETURN_IF_ERROR(CheckPartition(partition));
  if (level < kLowestStoredLevel) {
    // Rebuild the small subtree from its adjacent leaves.
    const uint64_t width = uint64_t{1} << level;
    std::vector<std::string> hashes;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), log_cfs_[partition]));
    it->Seek(EventKey(partition, index * width + 1));
    for (uint64_t i = 0; i < width; ++i, it->Next()) {
      if (!it->Valid() ||
          it->key() != EventKey(partition, index * width + 1 + i)) {
        return absl::DataLossError(absl::StrCat("leaf ", partition, "/",
                                                index * width + i, " missing"));
      }
      StoredEvent e;
      if (!e.ParseFromArray(it->value().data(), it->value().size())) {
        return absl::DataLossError("stored event");
      }
      hashes.push_back(e.leaf_hash());
    }
    while (hashes.size() > 1) {
      std::vector<std::string> up;
      for (size_t i = 0; i < hashes.size(); i += 2) {
        up.push_back(merkle::NodeHash(hasher_, hashes[i], hashes[i + 1]));
      }
      hashes.swap(up);
    }
    return hashes[0];
  }
  absl::Status s = FromRocks(
      db_->Get(rocksdb::ReadOptions(), merkle_cf_,
               MerkleKey(partition, level, index), &value),
      absl::StrCat("merkle node ", partition, "/", level, "/", index));
  if (!s.ok()) return s;
  return value;
}

merkle::Tree EventStore::TreeOf(uint32_t partition) const {
  return merkle::Tree(&hasher_, [this, partition](int level, uint64_t index) {
    return Node(partition, level, index);
  });
}

// ---------------------------------------------------------------------------
// Writing

// The state of one group commit: its batch and what it has written so far,
// so later jobs in the group see earlier ones.
class EventStore::Group {
 public:
  rocksdb::WriteBatch batch;
  absl::flat_hash_map<std::string, uint64_t> versions;
  absl::flat_hash_map<std::string, CommandRecord> commands;
  absl::flat_hash_map<std::string, uint64_t> consumed;
};

// The expensive part of building records, done by the caller's thread so
// the single writer only appends the position fields and hashes.
void EventStore::Prepare(AppendRequest* request) const {
  static thread_local absl::BitGen rng;
  const absl::Time now = options_.clock->Now();
  for (StreamAppend& sa : request->streams) {
    for (NewEvent& event : sa.events) {
      if (!event.prepared.empty()) continue;
      EventEnvelope env;
      env.set_event_id(absl::StrCat(
          absl::Hex(absl::Uniform<uint64_t>(rng), absl::kZeroPad16),
          absl::Hex(absl::Uniform<uint64_t>(rng), absl::kZeroPad16)));
      env.set_event_type(event.type);
      env.set_schema_version(event.schema_version);
      env.set_stream_id(sa.stream_id);
      SetTime(event.occurred_time == absl::InfinitePast() ? now
                                                          : event.occurred_time,
              env.mutable_occurred_time());
      *env.mutable_actor() = request->actor;
      env.set_source_service(options_.service);
      env.set_causation_id(event.causation_id);
      env.set_correlation_id(event.correlation_id);
      env.set_command_id(request->command_id);
      env.set_policy_version(event.policy_version);
      env.mutable_payload()->set_type_url(
          absl::StrCat("type.googleapis.com/", event.type));
      env.mutable_payload()->set_value(event.payload);
      event.prepared = env.SerializeAsString();
      // The payload now lives in `prepared`; free the copy.
      std::string().swap(event.payload);
    }
  }
}

namespace {
constexpr char kFsyncFailed[] =
    "event store: a WAL fsync failed; nothing more is acknowledged until the "
    "service restarts";
}  // namespace

absl::StatusOr<AppendResult> EventStore::Append(AppendRequest request) {
  if (fsync_failed_) return absl::UnavailableError(kFsyncFailed);
  Prepare(&request);
  Job job;
  job.request = std::move(request);
  bool write_here;
  {
    absl::MutexLock lock(&queue_mu_);
    if (stopping_) return absl::UnavailableError("event store is closing");
    // Nobody writing and nobody waiting: an append acknowledged once
    // written (a consumer's, or any in `async`) writes its own group. Handing
    // it to the writer thread and back costs two wake-ups (~10 us each on
    // this VM), more than a small group's write. A `sync` append keeps the
    // writer thread: with many handler threads runnable, an appender holding
    // the write while descheduled stalls every append behind it (intake's
    // ReportCase lost 10% that way), and its fsync dwarfs the hand-off.
    write_here =
        queue_.empty() && !writing_ &&
        (job.request.defer_fsync || options_.durability == Durability::kAsync);
    if (write_here) {
      writing_ = true;
    } else {
      queue_.push_back(&job);
    }
  }
  if (write_here) {
    std::vector<Job*> jobs = {&job};
    WriteGroup(jobs);  // the writer thread takes whatever queued meanwhile
  }
  job.done.WaitForNotification();
  return std::move(job.result);
}

absl::Status EventStore::CheckpointNow() {
  if (!options_.signer) {
    return absl::FailedPreconditionError("no signing key: no checkpoints");
  }
  Job job;
  job.checkpoint_now = true;
  {
    absl::MutexLock lock(&queue_mu_);
    if (stopping_) return absl::UnavailableError("event store is closing");
    queue_.push_back(&job);
  }
  job.done.WaitForNotification();
  return job.result.status();
}

void EventStore::WriterLoop() {
  while (true) {
    std::vector<Job*> jobs;
    bool stopping;
    {
      absl::MutexLock lock(&queue_mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(queue_mu_) {
        return (!queue_.empty() || stopping_) && !writing_;
      };
      // Wake for time-based checkpoints even when nothing is appended.
      queue_mu_.AwaitWithTimeout(absl::Condition(&ready),
                                 options_.signer ? options_.checkpoint_every / 4
                                                 : absl::Seconds(3600));
      // Timed out while an appender writes its own group (which checks the
      // checkpoints too).
      if (writing_) continue;
      while (!queue_.empty() && jobs.size() < options_.max_group) {
        jobs.push_back(queue_.front());
        queue_.pop_front();
      }
      stopping = stopping_ && queue_.empty();
      writing_ = true;
    }
    WriteGroup(jobs);
    if (stopping) break;
  }
}

void EventStore::WriteGroup(std::vector<Job*>& jobs) {
  ProcessGroup(jobs);
  absl::MutexLock lock(&queue_mu_);
  writing_ = false;
}

void EventStore::ProcessGroup(std::vector<Job*>& jobs) {
  if (fsync_failed_) {
    for (Job* job : jobs) {
      job->result = absl::UnavailableError(kFsyncFailed);
      job->done.Notify();
    }
    return;
  }
  Group group;
  const std::vector<PartitionState> saved = states_;
  const absl::Time now = options_.clock->Now();
  bool force_checkpoint = false;
  for (Job* job : jobs) {
    if (job->checkpoint_now) {
      force_checkpoint = true;
      job->result = AppendResult{};
      continue;
    }
    const size_t before = group.batch.Count();
    group.batch.SetSavePoint();
    job->result = ApplyAppend(job->request, now, &group);
    if (!job->result.ok() && group.batch.Count() != before) {
      group.batch.RollbackToSavePoint();
    } else {
      group.batch.PopSavePoint();
    }
  }
  if (options_.signer) {
    for (int p = 0; p < options_.partitions; ++p) {
      MaybeCheckpoint(p, now, force_checkpoint, &group);
    }
  }
  // Written without an fsync: in `sync` mode the syncer thread fsyncs behind
  // the writer (the next group is built and written meanwhile) and only then
  // acknowledges, so one fsync covers every group written before it.
  bool written = true;
  if (group.batch.Count() > 0) {
    absl::Status s = FromRocks(
        db_->Write(rocksdb::WriteOptions(), &group.batch), "group commit");
    if (!s.ok()) {
      // Nothing of this group is durable: forget what it assigned.
      written = false;
      states_ = saved;
      for (Job* job : jobs) {
        if (job->result.ok()) job->result = s;
      }
    } else {
      group_commits_.fetch_add(1);
    }
  }
  // Nobody queued behind this group: fsync here rather than wake the syncer
  // (a thread hand-off costs more than the fsync on this kind of VM).
  bool queue_empty;
  {
    absl::MutexLock lock(&queue_mu_);
    queue_empty = queue_.empty();
  }
  std::vector<Job*> done_now, sync_here;
  std::vector<uint64_t> heads;
  uint64_t writes = 0;
  {
    absl::MutexLock lock(&heads_mu_);
    if (written && group.batch.Count() > 0) {
      ++written_writes_;
      for (int p = 0; p < options_.partitions; ++p) {
        written_heads_[p] = states_[p].head;
      }
      if (options_.durability == Durability::kAsync) {
        heads_ = written_heads_;
        synced_writes_ = claimed_writes_ = written_writes_;
      }
      for (const auto& [key, seq] : group.consumed) consumed_[key] = seq;
    }
    // Only if the syncer has nothing in hand (everything before this group
    // is durable), so acknowledgements keep their order.
    const bool inline_sync = queue_empty && awaiting_fsync_.empty() &&
                             claimed_writes_ == synced_writes_ &&
                             synced_writes_ + 1 >= written_writes_;
    for (Job* job : jobs) {
      // A retried command's first result waits too: its original write may
      // not be durable yet.
      const bool wait_for_fsync =
          options_.durability == Durability::kSync && job->result.ok() &&
          (job->checkpoint_now || !job->request.defer_fsync);
      if (!wait_for_fsync) {
        done_now.push_back(job);
      } else if (inline_sync) {
        sync_here.push_back(job);
      } else {
        awaiting_fsync_.push_back(job);
      }
    }
    heads = written_heads_;
    writes = written_writes_;
    if (!sync_here.empty()) claimed_writes_ = writes;  // not the syncer's
  }
  for (Job* job : done_now) job->done.Notify();
  if (!sync_here.empty()) SyncAndAcknowledge(writes, heads, sync_here);
}

bool EventStore::SyncAndAcknowledge(uint64_t writes,
                                    const std::vector<uint64_t>& heads,
                                    const std::vector<Job*>& jobs) {
  bool needed;
  {
    absl::MutexLock lock(&heads_mu_);
    needed = writes > synced_writes_;
  }
  // Everything written before this call is in the WAL: one fsync makes
  // all of it durable, however many groups that is. Never again after one
  // failed: it would succeed without the lost pages (see fsync_failed()).
  rocksdb::Status rs = fsync_failed_ ? rocksdb::Status::IOError(kFsyncFailed)
                       : !needed     ? rocksdb::Status::OK()
                       : options_.sync_wal_for_test
                           ? options_.sync_wal_for_test()
                           : db_->SyncWAL();
  if (!rs.ok()) {
    if (!fsync_failed_.exchange(true)) {
      log::Error(
          "event store: WAL fsync failed; nothing more is "
          "acknowledged or published",
          {{"path", options_.path}, {"error", rs.ToString()}});
      // Wakes whoever waits on heads_mu_ for a durability that won't come.
      absl::MutexLock wake(&heads_mu_);
    }
    for (Job* job : jobs) {
      job->result = absl::UnavailableError(
          absl::StrCat("event store: WAL fsync failed: ", rs.ToString()));
    }
  } else {
    absl::MutexLock lock(&heads_mu_);
    synced_writes_ = std::max(synced_writes_, writes);
    for (size_t p = 0; p < heads_.size(); ++p) {
      heads_[p] = std::max(heads_[p], heads[p]);
    }
  }
  for (Job* job : jobs) job->done.Notify();
  return rs.ok();
}

void EventStore::SyncerLoop() {
  while (true) {
    std::vector<uint64_t> heads;
    std::vector<Job*> jobs;
    uint64_t writes = 0;
    {
      absl::MutexLock lock(&heads_mu_);
      auto work = [this]() ABSL_SHARED_LOCKS_REQUIRED(heads_mu_) {
        return syncer_stopping_ || written_writes_ > claimed_writes_ ||
               !awaiting_fsync_.empty();
      };
      heads_mu_.Await(absl::Condition(&work));
      if ((written_writes_ <= synced_writes_ || fsync_failed_) &&
          awaiting_fsync_.empty() && syncer_stopping_) {
        return;  // stopping, and everything written is durable (or lost)
      }
      heads = written_heads_;
      writes = written_writes_;
      claimed_writes_ = std::max(claimed_writes_, writes);
      jobs.swap(awaiting_fsync_);
    }
    SyncAndAcknowledge(writes, heads, jobs);  // a failure poisons the store
  }
}

absl::StatusOr<AppendResult> EventStore::ApplyAppend(
    const AppendRequest& request, absl::Time now, Group* group) {
  // 1. A command already applied returns its first result.
  if (!request.command_id.empty()) {
    auto it = group->commands.find(request.command_id);
    CommandRecord record;
    bool found = false;
    if (it != group->commands.end()) {
      record = it->second;
      found = true;
    } else {
      std::string value;
      rocksdb::Status rs = db_->Get(rocksdb::ReadOptions(), commands_cf_,
                                    request.command_id, &value);
      if (rs.ok()) {
        if (!record.ParseFromString(value)) {
          return absl::DataLossError("command record does not parse");
        }
        found = true;
      } else if (!rs.IsNotFound()) {
        return FromRocks(rs, "read command");
      }
    }
    if (found) return FirstResult(record);
  }

  // 2. Consumed positions: exactly the next one, or a duplicate.
  std::vector<std::pair<std::string, uint64_t>> consumed_updates;
  for (const Consumed& c : request.consumed) {
    const std::string key = ConsumedKey(c.service, c.partition);
    uint64_t applied = 0;
    auto it = group->consumed.find(key);
    if (it != group->consumed.end()) {
      applied = it->second;
    } else {
      absl::MutexLock lock(&heads_mu_);
      auto stored = consumed_.find(key);
      if (stored != consumed_.end()) applied = stored->second;
    }
    if (c.sequence <= applied) {
      AppendResult result;
      result.duplicate = true;
      return result;
    }
    if (c.sequence != applied + 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("consumed ", c.service, "/", c.partition, " sequence ",
                       c.sequence, " is not the next after ", applied));
    }
    consumed_updates.emplace_back(key, c.sequence);
  }

  // 3. Validate every stream and its expected version before writing.
  size_t events = 0;
  std::vector<uint64_t> current(request.streams.size());
  absl::flat_hash_map<std::string, bool> seen;
  for (size_t i = 0; i < request.streams.size(); ++i) {
    const StreamAppend& sa = request.streams[i];
    absl::Status v = ValidateStreamId(sa.stream_id);
    if (!v.ok()) return v;
    if (absl::StartsWith(sa.stream_id, "checkpoint/")) {
      return absl::InvalidArgumentError("checkpoint streams are the store's");
    }
    if (!seen.emplace(sa.stream_id, true).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("stream ", sa.stream_id, " appears twice"));
    }
    for (const NewEvent& e : sa.events) {
      if (e.type.empty())
        return absl::InvalidArgumentError("event without type");
      const size_t bytes = e.prepared.empty() ? e.payload.size() + e.type.size()
                                              : e.prepared.size();
      if (bytes > kMaxRecordBytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "event ", e.type, " of stream ", sa.stream_id, " is ", bytes,
            " bytes; at most ", kMaxRecordBytes, " fit a Kafka message"));
      }
    }
    events += sa.events.size();
    auto it = group->versions.find(sa.stream_id);
    if (it != group->versions.end()) {
      current[i] = it->second;
    } else {
      auto version = StreamVersion(sa.stream_id);
      if (!version.ok()) return version.status();
      current[i] = *version;
    }
    if (sa.expected_version != kAnyVersion &&
        static_cast<uint64_t>(sa.expected_version) != current[i]) {
      return absl::AbortedError(
          absl::StrCat("stream ", sa.stream_id, ": expected version ",
                       sa.expected_version == kNoStream
                           ? std::string("none")
                           : std::to_string(sa.expected_version),
                       ", found ", current[i]));
    }
  }
  if (events == 0 && request.projection_writes.empty() &&
      request.consumed.empty()) {
    return absl::InvalidArgumentError("empty append");
  }

  // 4. Write: events, stream index, Merkle nodes, projections, positions.
  AppendResult result;
  std::map<uint32_t, uint64_t> last_in_partition;
  for (size_t i = 0; i < request.streams.size(); ++i) {
    const StreamAppend& sa = request.streams[i];
    const uint32_t p = PartitionOf(sa.stream_id);
    uint64_t version = current[i];
    const uint64_t first_sequence = states_[p].head + 1;
    for (const NewEvent& e : sa.events) {
      AppendEvent(p, sa.stream_id, ++version, e, request, now, group);
      last_in_partition[p] = states_[p].head;
    }
    if (!sa.events.empty()) {
      // The append's events of one stream are consecutive in its partition:
      // one index entry covers them.
      group->batch.Put(streams_cf_, StreamKey(sa.stream_id, current[i] + 1),
                       StreamRange(p, first_sequence, sa.events.size()));
    }
    group->versions[sa.stream_id] = version;
    group->batch.Put(streams_cf_, StreamHeadKey(sa.stream_id), U64(version));
    wangge::common::v1::StreamVersion sv;
    sv.set_stream_id(sa.stream_id);
    sv.set_version(version);
    result.stream_versions.push_back(sv);
  }
  for (const ProjectionWrite& w : request.projection_writes) {
    const std::string key = ProjectionKey(w.projection, w.key);
    if (w.value) {
      group->batch.Put(projections_cf_, key, *w.value);
    } else {
      group->batch.Delete(projections_cf_, key);
    }
  }
  for (const auto& [key, seq] : consumed_updates) {
    group->batch.Put(meta_cf_, key, U64(seq));
    group->consumed[key] = seq;
  }
  for (const auto& [p, seq] : last_in_partition) {
    Position pos;
    pos.set_service(options_.service);
    pos.set_partition(p);
    pos.set_sequence(seq);
    result.positions.push_back(pos);
  }
  if (!request.command_id.empty()) {
    CommandRecord record;
    for (const auto& p : result.positions) *record.add_positions() = p;
    for (const auto& v : result.stream_versions)
      *record.add_stream_versions() = v;
    record.set_response(request.command_response);
    group->batch.Put(commands_cf_, request.command_id,
                     record.SerializeAsString());
    group->commands[request.command_id] = std::move(record);
  }
  return result;
}

void EventStore::AppendEvent(uint32_t partition, const std::string& stream_id,
                             uint64_t stream_version, const NewEvent& event,
                             const AppendRequest& request, absl::Time now,
                             Group* group) {
  PartitionState& state = states_[partition];
  const uint64_t sequence = state.head + 1;
  // What only the writer knows, appended to the prepared fields (protobuf
  // parses fields in any order; the bytes are hashed as written).
  EventEnvelope position;
  position.set_stream_version(stream_version);
  position.set_partition(partition);
  position.set_sequence(sequence);
  SetTime(now, position.mutable_recorded_time());
  // The record: serialized once, stored, hashed and published as is.
  StoredEvent stored;
  std::string* record = stored.mutable_record();
  record->reserve(event.prepared.size() + 32);
  record->append(event.prepared);
  position.AppendToString(record);
  stored.set_leaf_hash(merkle::LeafHash(hasher_, stored.record()));
  stored.set_chain_hash(hasher_.Hash2(state.chain, stored.leaf_hash()));

  group->batch.Put(log_cfs_[partition], EventKey(partition, sequence),
                   stored.SerializeAsString());
  for (const auto& node : state.range.Append(stored.leaf_hash())) {
    if (node.level < kLowestStoredLevel) continue;
    group->batch.Put(merkle_cf_, MerkleKey(partition, node.level, node.index),
                     node.hash);
  }
  state.head = sequence;
  state.chain = stored.chain_hash();
}

void EventStore::MaybeCheckpoint(uint32_t partition, absl::Time now, bool force,
                                 Group* group) {
  PartitionState& state = states_[partition];
  if (state.head <= state.last_checkpoint_seq) return;  // nothing new
  const bool due =
      force ||
      state.head - state.last_checkpoint_seq >=
          options_.checkpoint_every_events ||
      now - state.last_checkpoint_time >= options_.checkpoint_every;
  if (!due) return;
  wangge::common::v1::Checkpoint c;
  c.set_service(options_.service);
  c.set_partition(partition);
  c.set_tree_size(state.head);
  c.set_merkle_root(state.range.Root());
  c.set_chain_hash(state.chain);
  SetTime(now, c.mutable_time());
  absl::Status s =
      crypto::SignCheckpoint(*options_.signer, options_.hash_algorithm, &c);
  if (!s.ok()) return;  // retried at the next group
  AppendRequest internal;
  internal.actor.set_subject(options_.service);
  const std::string stream = absl::StrCat("checkpoint/", partition);
  StreamAppend wrapper;
  wrapper.stream_id = stream;
  wrapper.events.push_back(MakeEvent(c));
  internal.streams.push_back(std::move(wrapper));
  Prepare(&internal);
  const NewEvent& event = internal.streams[0].events[0];
  auto version = group->versions.find(stream);
  uint64_t v = 0;
  if (version != group->versions.end()) {
    v = version->second;
  } else {
    auto stored = StreamVersion(stream);
    if (!stored.ok()) return;
    v = *stored;
  }
  group->batch.Put(meta_cf_, CheckpointKey(partition, c.tree_size()),
                   c.SerializeAsString());
  AppendEvent(partition, stream, v + 1, event, internal, now, group);
  group->batch.Put(streams_cf_, StreamKey(stream, v + 1),
                   StreamRange(partition, state.head, 1));
  group->versions[stream] = v + 1;
  group->batch.Put(streams_cf_, StreamHeadKey(stream), U64(v + 1));
  state.last_checkpoint_seq = state.head;
  state.last_checkpoint_time = now;
}

// ---------------------------------------------------------------------------
// Reading

absl::StatusOr<std::optional<AppendResult>> EventStore::CommandResult(
    const std::string& command_id) const {
  if (fsync_failed_) return absl::UnavailableError(kFsyncFailed);
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), commands_cf_, command_id, &value);
  if (s.IsNotFound()) return std::optional<AppendResult>();
  if (!s.ok()) return FromRocks(s, "read command");
  CommandRecord record;
  if (!record.ParseFromString(value)) {
    return absl::DataLossError("command record does not parse");
  }
  // The record may belong to a group written but not yet fsync'd: the
  // answer waits for that fsync, as a retried Append does.
  uint64_t written = 0;
  BetweenGroups([&] {
    absl::MutexLock heads(&heads_mu_);
    written = written_writes_;
  });
  {
    absl::MutexLock lock(&heads_mu_);
    auto durable = [&]() ABSL_SHARED_LOCKS_REQUIRED(heads_mu_) {
      return synced_writes_ >= written || fsync_failed_;
    };
    heads_mu_.Await(absl::Condition(&durable));
  }
  if (fsync_failed_) return absl::UnavailableError(kFsyncFailed);
  return std::optional<AppendResult>(FirstResult(record));
}

absl::StatusOr<uint64_t> EventStore::StreamVersion(
    const std::string& stream_id) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), streams_cf_,
                               StreamHeadKey(stream_id), &value);
  if (s.IsNotFound()) return 0;
  if (!s.ok()) return FromRocks(s, "stream version");
  if (value.size() != 8) return absl::DataLossError("stream head");
  return GetU64(value.data());
}

absl::StatusOr<std::vector<StoredEvent>> EventStore::ReadStream(
    const std::string& stream_id, uint64_t from_version, size_t max) const {
  std::vector<StoredEvent> out;
  from_version = std::max<uint64_t>(from_version, 1);
  const std::string prefix = stream_id + std::string(1, '\0');
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), streams_cf_));
  // The run holding from_version starts at or before it.
  it->SeekForPrev(StreamKey(stream_id, from_version));
  if (!it->Valid() || !it->key().starts_with(prefix)) {
    it->Seek(StreamKey(stream_id, from_version));
  }
  std::unique_ptr<rocksdb::Iterator> events;
  uint32_t events_partition = 0;
  for (; it->Valid() && it->key().starts_with(prefix) &&
         it->key().size() == prefix.size() + 8 && out.size() < max;
       it->Next()) {
    if (it->value().size() != 16) return absl::DataLossError("stream index");
    const uint64_t first_version = GetU64(it->key().data() + prefix.size());
    const uint32_t p = GetU32(it->value().data());
    const uint64_t first_seq = GetU64(it->value().data() + 4);
    const uint32_t count = GetU32(it->value().data() + 12);
    if (first_version + count <= from_version) continue;
    if (p >= log_cfs_.size()) return absl::DataLossError("stream index");
    if (events == nullptr || events_partition != p) {
      events.reset(db_->NewIterator(rocksdb::ReadOptions(), log_cfs_[p]));
      events_partition = p;
    }
    const uint64_t skip =
        from_version > first_version ? from_version - first_version : 0;
    events->Seek(EventKey(p, first_seq + skip));
    for (uint64_t i = skip; i < count && out.size() < max;
         ++i, events->Next()) {
      if (!events->Valid() || events->key() != EventKey(p, first_seq + i)) {
        return absl::DataLossError(absl::StrCat("event ", p, "/", first_seq + i,
                                                " of ", stream_id, " missing"));
      }
      StoredEvent e;
      if (!e.ParseFromArray(events->value().data(), events->value().size())) {
        return absl::DataLossError("stored event");
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

absl::StatusOr<std::vector<StoredEvent>> EventStore::ReadPartition(
    uint32_t partition, uint64_t from_sequence, size_t max) const {
  RETURN_IF_ERROR(CheckPartition(partition));
  const uint64_t head = Head(partition);
  std::vector<StoredEvent> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), log_cfs_[partition]));
  for (it->Seek(EventKey(partition, std::max<uint64_t>(from_sequence, 1)));
       it->Valid() && out.size() < max; it->Next()) {
    if (it->key().size() != 12 || GetU32(it->key().data()) != partition) break;
    // Only what is committed and published (the writer may be mid-group).
    if (GetU64(it->key().data() + 4) > head) break;
    StoredEvent e;
    if (!e.ParseFromArray(it->value().data(), it->value().size())) {
      return absl::DataLossError("stored event");
    }
    out.push_back(std::move(e));
  }
  return out;
}

absl::Status EventStore::ScanPartition(
    uint32_t partition, uint64_t from_sequence,
    const std::function<bool(uint64_t, const StoredEventView&)>& fn) const {
  RETURN_IF_ERROR(CheckPartition(partition));
  const uint64_t head = Head(partition);
  rocksdb::ReadOptions ro;
  // 256 KiB: 4 MiB buffers (one per table) were mostly page faults and
  // copies of other partitions' data (replay 377k -> 684k events/s).
  ro.readahead_size = 256 << 10;
  ro.fill_cache = false;  // a replay should not evict the working set
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(ro, log_cfs_[partition]));
  for (it->Seek(EventKey(partition, std::max<uint64_t>(from_sequence, 1)));
       it->Valid(); it->Next()) {
    if (it->key().size() != 12 || GetU32(it->key().data()) != partition) break;
    const uint64_t seq = GetU64(it->key().data() + 4);
    if (seq > head) break;
    StoredEventView view;
    if (!ParseStoredEventView(
            absl::string_view(it->value().data(), it->value().size()), &view)) {
      return absl::DataLossError(
          absl::StrCat("event ", partition, "/", seq, " does not parse"));
    }
    if (!fn(seq, view)) break;
  }
  return FromRocks(it->status(), "scan partition");
}

std::vector<uint64_t> EventStore::Heads() const {
  absl::MutexLock lock(&heads_mu_);
  return heads_;
}

uint64_t EventStore::Head(uint32_t partition) const {
  absl::MutexLock lock(&heads_mu_);
  return partition < heads_.size() ? heads_[partition] : 0;
}

uint64_t EventStore::WaitForAppend(uint32_t partition, uint64_t after,
                                   absl::Time deadline) const {
  absl::MutexLock lock(&heads_mu_);
  if (partition >= heads_.size()) return 0;
  auto passed = [this, partition, after]() ABSL_SHARED_LOCKS_REQUIRED(
                    heads_mu_) { return heads_[partition] > after; };
  heads_mu_.AwaitWithDeadline(absl::Condition(&passed), deadline);
  return heads_[partition];
}

void EventStore::WaitForAnyAppend(const std::vector<uint64_t>& seen,
                                  absl::Time deadline) const {
  absl::MutexLock lock(&heads_mu_);
  auto changed = [this, &seen]() ABSL_SHARED_LOCKS_REQUIRED(heads_mu_) {
    for (size_t p = 0; p < heads_.size() && p < seen.size(); ++p) {
      if (heads_[p] > seen[p]) return true;
    }
    return false;
  };
  heads_mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
}

uint64_t EventStore::ConsumedPosition(const std::string& service,
                                      uint32_t partition) const {
  absl::MutexLock lock(&heads_mu_);
  auto it = consumed_.find(ConsumedKey(service, partition));
  return it == consumed_.end() ? 0 : it->second;
}

void EventStore::FollowSource(const std::string& service) {
  absl::MutexLock lock(&heads_mu_);
  followed_.insert(service);
}

absl::Status EventStore::WaitForPositions(
    const std::vector<Position>& positions, absl::Time deadline) const {
  // A client's positions come from its writes, a few at a time; a long list
  // would be re-checked at every append while it waits.
  // (one per partition of each of five services, and at least 64)
  const size_t most = std::max<size_t>(64, 5 * options_.partitions);
  if (positions.size() > most) {
    return status::InvalidField("min_positions",
                                absl::StrCat("at most ", most, " positions"));
  }
  absl::MutexLock lock(&heads_mu_);
  // Refused at once rather than held to the deadline: it would never come.
  for (const auto& p : positions) {
    const bool known =
        p.service() == options_.service || followed_.contains(p.service()) ||
        consumed_.contains(ConsumedKey(p.service(), p.partition()));
    if (!known) {
      return status::InvalidField(
          "min_positions",
          absl::StrCat(options_.service, " does not follow ", p.service(),
                       ": its positions are never applied here"));
    }
    if (p.partition() >= static_cast<uint32_t>(options_.partitions)) {
      return status::InvalidField(
          "min_positions",
          absl::StrCat("partition ", p.partition(), " is beyond the ",
                       options_.partitions, " partitions"));
    }
    // This service's own positions are its writes: none is past what it
    // has written.
    if (p.service() == options_.service &&
        p.sequence() > written_heads_[p.partition()]) {
      return status::InvalidField(
          "min_positions",
          absl::StrCat("position ", p.partition(), "/", p.sequence(),
                       " was never written here"));
    }
  }
  auto applied = [&](const Position& p) ABSL_SHARED_LOCKS_REQUIRED(heads_mu_) {
    if (p.service() == options_.service) {
      return heads_[p.partition()] >= p.sequence();  // partition checked
    }
    auto it = consumed_.find(ConsumedKey(p.service(), p.partition()));
    return it != consumed_.end() && it->second >= p.sequence();
  };
  auto all = [&]() ABSL_SHARED_LOCKS_REQUIRED(heads_mu_) {
    for (const auto& p : positions) {
      if (!applied(p)) return false;
    }
    return true;
  };
  if (heads_mu_.AwaitWithDeadline(absl::Condition(&all), deadline)) {
    return absl::OkStatus();
  }
  for (const auto& p : positions) {
    if (!applied(p)) {
      return absl::DeadlineExceededError(
          absl::StrCat("position ", p.service(), "/", p.partition(), "/",
                       p.sequence(), " not applied yet"));
    }
  }
  return absl::OkStatus();
}

absl::Status EventStore::WaitForPositions(
    const google::protobuf::RepeatedPtrField<Position>& positions,
    absl::Time deadline) const {
  if (positions.empty()) return absl::OkStatus();
  return WaitForPositions(
      std::vector<Position>(positions.begin(), positions.end()), deadline);
}

absl::StatusOr<std::string> EventStore::Root(uint32_t partition,
                                             uint64_t size) const {
  if (size > Head(partition)) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", size, " beyond the head"));
  }
  return TreeOf(partition).Root(size);
}

absl::StatusOr<std::vector<std::string>> EventStore::InclusionProof(
    uint32_t partition, uint64_t index, uint64_t size) const {
  if (size > Head(partition)) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", size, " beyond the head"));
  }
  return TreeOf(partition).InclusionProof(index, size);
}

absl::StatusOr<std::vector<std::string>> EventStore::ConsistencyProof(
    uint32_t partition, uint64_t first, uint64_t second) const {
  if (second > Head(partition)) {
    return absl::OutOfRangeError(
        absl::StrCat("tree size ", second, " beyond the head"));
  }
  return TreeOf(partition).ConsistencyProof(first, second);
}

absl::StatusOr<wangge::common::v1::Checkpoint> EventStore::GetCheckpoint(
    uint32_t partition, uint64_t tree_size) const {
  std::string value;
  // A checkpoint of tree size N is event N + 1: only a published one counts.
  const uint64_t head = Head(partition);
  if (tree_size != 0) {
    if (tree_size >= head) {
      return absl::NotFoundError(
          absl::StrCat("no checkpoint of size ", tree_size, " yet"));
    }
    absl::Status s =
        FromRocks(db_->Get(rocksdb::ReadOptions(), meta_cf_,
                           CheckpointKey(partition, tree_size), &value),
                  absl::StrCat("checkpoint of size ", tree_size));
    if (!s.ok()) return s;
  } else {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), meta_cf_));
    if (head == 0 || !SeekLatestCheckpoint(it.get(), partition, head - 1)) {
      return absl::NotFoundError(
          absl::StrCat("no checkpoint yet in partition ", partition));
    }
    value = it->value().ToString();
  }
  wangge::common::v1::Checkpoint c;
  if (!c.ParseFromString(value)) return absl::DataLossError("checkpoint");
  return c;
}

VerifyReport EventStore::Verify(uint32_t partition,
                                const crypto::Verifier* verifier) const {
  VerifyReport report;
  report.partition = partition;
  auto fail = [&](uint64_t seq, std::string reason) {
    report.ok = false;
    report.first_bad_sequence = seq;
    report.reason = std::move(reason);
    return report;
  };
  if (!CheckPartition(partition).ok()) return fail(0, "no such partition");
  const uint64_t head = Head(partition);
  // The newest signed checkpoint is also kept apart from the log (the
  // metadata family, same write batch): the log must still hold it. Without
  // this a truncated tail would verify, the head being restored from the log
  // itself.
  std::string kept_checkpoint;
  uint64_t kept_tree_size = 0;
  bool kept_found = false;
  {
    std::unique_ptr<rocksdb::Iterator> ck(
        db_->NewIterator(rocksdb::ReadOptions(), meta_cf_));
    if (SeekLatestCheckpoint(ck.get(), partition)) {
      kept_checkpoint = ck->value().ToString();
      kept_tree_size = GetU64(ck->key().data() + ck->key().size() - 8);
    } else {
      kept_found = true;  // nothing to look for
    }
  }
  merkle::CompactRange range(&hasher_);
  std::string chain;
  uint64_t expected = 1;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), log_cfs_[partition]));
  for (it->Seek(EventKey(partition, 1)); it->Valid(); it->Next()) {
    if (it->key().size() != 12 || GetU32(it->key().data()) != partition) break;
    const uint64_t seq = GetU64(it->key().data() + 4);
    if (seq > head) break;
    if (seq != expected) {
      return fail(expected, absl::StrCat("event ", expected, " is missing"));
    }
    StoredEvent stored;
    if (!stored.ParseFromArray(it->value().data(), it->value().size())) {
      return fail(seq, "stored event does not parse");
    }
    if (merkle::LeafHash(hasher_, stored.record()) != stored.leaf_hash()) {
      return fail(seq, "record does not match its leaf hash");
    }
    if (hasher_.Hash2(chain, stored.leaf_hash()) != stored.chain_hash()) {
      return fail(seq, "chain hash does not follow from the previous event");
    }
    EventEnvelope env;
    if (!env.ParseFromString(stored.record())) {
      return fail(seq, "record does not parse");
    }
    if (env.partition() != partition || env.sequence() != seq) {
      return fail(seq, absl::StrCat("record claims position ", env.partition(),
                                    "/", env.sequence()));
    }
    if (env.event_type() == kCheckpointType) {
      wangge::common::v1::Checkpoint c;
      if (!c.ParseFromString(env.payload().value())) {
        return fail(seq, "checkpoint payload does not parse");
      }
      if (c.tree_size() != seq - 1 || c.merkle_root() != range.Root() ||
          c.chain_hash() != chain || c.partition() != partition) {
        return fail(seq, "checkpoint does not match the log before it");
      }
      if (verifier != nullptr && !crypto::VerifyCheckpoint(*verifier, c).ok()) {
        return fail(seq, "checkpoint signature does not verify");
      }
      if (c.tree_size() == kept_tree_size) {
        if (env.payload().value() != kept_checkpoint) {
          return fail(seq,
                      "checkpoint differs from the copy kept beside the log");
        }
        kept_found = true;
      }
      ++report.checkpoints;
    }
    for (const auto& node : range.Append(stored.leaf_hash())) {
      if (node.level < kLowestStoredLevel) continue;  // recomputed, not stored
      auto stored_node = Node(partition, node.level, node.index);
      if (!stored_node.ok() || *stored_node != node.hash) {
        return fail(seq, absl::StrCat("stored Merkle node ", node.level, "/",
                                      node.index, " differs"));
      }
    }
    chain = stored.chain_hash();
    ++report.events;
    ++expected;
  }
  if (expected != head + 1) {
    return fail(expected, absl::StrCat("event ", expected, " is missing"));
  }
  if (!kept_found && kept_tree_size + 1 > head) {
    // Written with its checkpoint in one batch but not yet published (its
    // fsync pending): there, just beyond the head walked.
    std::string value;
    StoredEvent beyond;
    EventEnvelope env;
    if (db_->Get(rocksdb::ReadOptions(), log_cfs_[partition],
                 EventKey(partition, kept_tree_size + 1), &value)
            .ok() &&
        beyond.ParseFromString(value) && env.ParseFromString(beyond.record()) &&
        env.event_type() == kCheckpointType &&
        env.payload().value() == kept_checkpoint) {
      kept_found = true;
    }
  }
  if (!kept_found) {
    return fail(std::min(head + 1, kept_tree_size + 1),
                absl::StrCat("the checkpoint of tree ", kept_tree_size,
                             " (at sequence ", kept_tree_size + 1,
                             ") is not in the log: events were removed or "
                             "rewritten"));
  }
  return report;
}

// ---------------------------------------------------------------------------
// Decoding, projections, metadata

void EventStore::RegisterUpcaster(const std::string& type,
                                  uint32_t from_version, Upcaster upcaster) {
  absl::MutexLock lock(&upcasters_mu_);
  upcasters_[{type, from_version}] = std::move(upcaster);
}

absl::StatusOr<EventEnvelope> EventStore::Decode(
    const StoredEvent& event) const {
  EventEnvelope env;
  if (!env.ParseFromString(event.record())) {
    return absl::DataLossError("record does not parse");
  }
  absl::MutexLock lock(&upcasters_mu_);
  while (true) {
    auto it = upcasters_.find({env.event_type(), env.schema_version()});
    if (it == upcasters_.end()) break;
    auto lifted = it->second(env.payload().value());
    if (!lifted.ok()) return lifted.status();
    env.mutable_payload()->set_value(*lifted);
    env.set_schema_version(env.schema_version() + 1);
  }
  return env;
}

absl::StatusOr<std::optional<std::string>> EventStore::GetProjection(
    const std::string& projection, const std::string& key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), projections_cf_,
                               ProjectionKey(projection, key), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "projection");
  return std::optional<std::string>(std::move(value));
}

absl::Status EventStore::ScanProjection(
    const std::string& projection, const std::string& prefix,
    const std::string& after,
    const std::function<bool(const std::string&, const std::string&)>& fn)
    const {
  return ScanProjectionWith(rocksdb::ReadOptions(), projection, prefix, after,
                            fn);
}

absl::Status EventStore::ScanProjectionWith(
    const rocksdb::ReadOptions& read, const std::string& projection,
    const std::string& prefix, const std::string& after,
    const std::function<bool(const std::string&, const std::string&)>& fn)
    const {
  const std::string start = ProjectionKey(projection, prefix);
  const size_t strip = projection.size() + 1;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(read, projections_cf_));
  // Past the page token with one seek, rather than reading up to it.
  std::string seek = start;
  if (!after.empty()) {
    seek = std::max(seek, ProjectionKey(projection, after) + '\0');
  }
  for (it->Seek(seek); it->Valid() && it->key().starts_with(start);
       it->Next()) {
    if (!fn(it->key().ToString().substr(strip), it->value().ToString())) break;
  }
  return FromRocks(it->status(), "scan projection");
}

absl::Status EventStore::ScanProjectionRange(
    const std::string& projection, const std::string& from,
    const std::string& to,
    const std::function<bool(const std::string&, const std::string&)>& fn)
    const {
  return ScanProjectionRanges(
      projection, {{from, to}},
      [&](size_t, const std::string& key, const std::string& value) {
        return fn(key, value);
      });
}

absl::Status EventStore::ScanProjectionRanges(
    const std::string& projection,
    const std::vector<std::pair<std::string, std::string>>& ranges,
    const std::function<bool(size_t, const std::string&, const std::string&)>&
        fn) const {
  const std::string prefix = ProjectionKey(projection, "");
  // The bound lets RocksDB stop at the projection's end instead of reading
  // past it; each range's own end is checked here.
  std::string upper = prefix;
  upper.back() = static_cast<char>(upper.back() + 1);  // after name 0x00
  const rocksdb::Slice bound(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, projections_cf_));
  for (size_t r = 0; r < ranges.size(); ++r) {
    const std::string end = ProjectionKey(projection, ranges[r].second);
    for (it->Seek(ProjectionKey(projection, ranges[r].first));
         it->Valid() && it->key().compare(end) < 0; it->Next()) {
      if (!fn(r, it->key().ToString().substr(prefix.size()),
              it->value().ToString())) {
        break;
      }
    }
    if (!it->status().ok()) break;
  }
  return FromRocks(it->status(), "scan projection");
}

absl::StatusOr<std::pair<std::string, uint64_t>> EventStore::ProjectionDigest(
    const std::string& projection) const {
  return ProjectionDigestOf(projection, rocksdb::ReadOptions());
}

absl::StatusOr<std::pair<std::string, uint64_t>> EventStore::ProjectionDigestOf(
    const std::string& projection, const rocksdb::ReadOptions& read) const {
  // The scan runs in key order: rows go straight into the hash.
  RowDigest digest(options_.hash_algorithm);
  RETURN_IF_ERROR(
      ScanProjectionWith(read, projection, "", "",
                         [&](const std::string& key, const std::string& value) {
                           digest.Add(key, value);
                           return true;
                         }));
  return digest.Finish();
}

void EventStore::BetweenGroups(const std::function<void()>& f) const {
  absl::MutexLock lock(&queue_mu_);
  auto idle = [this]()
                  ABSL_SHARED_LOCKS_REQUIRED(queue_mu_) { return !writing_; };
  queue_mu_.Await(absl::Condition(&idle));
  f();
}

absl::StatusOr<EventStore::DigestsAt> EventStore::ProjectionDigestsAt(
    const std::vector<std::string>& projections, absl::Time deadline) {
  // The snapshot holds exactly the groups the written heads count.
  const rocksdb::Snapshot* snapshot = nullptr;
  DigestsAt out;
  BetweenGroups([&] {
    snapshot = db_->GetSnapshot();
    absl::MutexLock lock(&heads_mu_);
    out.heads = written_heads_;
  });
  std::unique_ptr<const rocksdb::Snapshot,
                  std::function<void(const rocksdb::Snapshot*)>>
      release(snapshot,
              [this](const rocksdb::Snapshot* s) { db_->ReleaseSnapshot(s); });
  std::vector<Position> durable;
  for (size_t p = 0; p < out.heads.size(); ++p) {
    Position pos;
    pos.set_service(options_.service);
    pos.set_partition(static_cast<uint32_t>(p));
    pos.set_sequence(out.heads[p]);
    durable.push_back(pos);
  }
  RETURN_IF_ERROR(WaitForPositions(durable, deadline));
  rocksdb::ReadOptions read;
  read.snapshot = snapshot;
  for (const auto& name : projections) {
    ASSIGN_OR_RETURN(auto digest, ProjectionDigestOf(name, read));
    out.digests.push_back(std::move(digest));
  }
  return out;
}

std::map<std::string, uint64_t> EventStore::MemoryUsage() const {
  std::map<std::string, uint64_t> out;
  uint64_t v = 0;
  if (db_->GetAggregatedIntProperty("rocksdb.size-all-mem-tables", &v))
    out["memtables"] = v;
  if (db_->GetAggregatedIntProperty("rocksdb.estimate-table-readers-mem", &v))
    out["table_readers"] = v;
  // One cache shared by every column family: asked once.
  if (db_->GetIntProperty(meta_cf_, "rocksdb.block-cache-usage", &v))
    out["block_cache"] = v;
  return out;
}

absl::StatusOr<std::optional<std::string>> EventStore::GetMeta(
    const std::string& key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_cf_, key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "meta");
  return std::optional<std::string>(std::move(value));
}

absl::Status EventStore::PutMeta(const std::string& key,
                                 const std::string& value, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync && options_.durability == Durability::kSync;
  return FromRocks(db_->Put(wo, meta_cf_, key, value), "meta");
}

}  // namespace wangge::eventstore
