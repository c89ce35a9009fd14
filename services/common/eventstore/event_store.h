#ifndef WANGGE_SERVICES_COMMON_EVENTSTORE_EVENT_STORE_H_
#define WANGGE_SERVICES_COMMON_EVENTSTORE_EVENT_STORE_H_

// A service's events on RocksDB: streams with versions, partitions with
// gapless sequences, a hash chain and an RFC 6962 Merkle tree per partition,
// signed checkpoints written into the log, idempotent commands, projections
// written in the same batch as the events or consumed positions that cause
// them, reads, a live tail and a full re-walk (Verify).
//
// Groups are written one at a time. A writer thread drains a queue:
// concurrent appends share one RocksDB write (group commit); an append that
// needs no fsync and finds the queue empty and no group being written writes
// itself, saving two thread hand-offs. In `sync` mode a second
// thread, the syncer, fsyncs the WAL behind the writer, one fsync for every
// group written since the last, and only then acknowledges the appends and
// publishes their events: an acknowledged append is durable in `sync` mode
// and survives a process crash in `async` mode, and Heads(), the log reads,
// proofs and checkpoints never show an event a power loss could take back
// (it would come back with other hashes under the same sequence). Streams,
// projections and consumed positions read what is written, durable or not,
// so the next decision sees the last one; after a power loss they lose the
// same suffix as the log.
//
// A consumer's append (AppendRequest::defer_fsync) is acknowledged once
// written: its effects can be derived again from their source, whose
// consumed position is in the same batch.
//
// Column families and keys (big-endian integers):
//   events.<P>   P(4) S(8)               -> StoredEvent (record + hashes),
//                                          one family per partition ("events"
//                                          for all in a store created before)
//   streams      stream_id 0x00 V(8)      -> P(4) S(8) N(4): versions
//                                          V..V+N-1 are sequences S..S+N-1
//                                          (one entry per stream per append)
//                stream_id 0x01           -> V(8), the current version
//   merkle       P(4) level(1) index(8)   -> hash of that perfect subtree,
//                                          for levels >= 4 (lower ones are
//                                          rebuilt from <= 8 adjacent leaves)
//   commands     command_id               -> CommandRecord
//   projections  name 0x00 key            -> value
//   default      "partitions"             -> count (fixed at creation)
//                "checkpoint/" P(4) N(8)  -> Checkpoint of tree size N
//                "consumed/" service "/" P(4) -> S(8), last applied
//                "relay/" P(4)            -> S(8), last published (event bus)
//
// Thread safety: every public method may be called from any thread.
// Lifecycle: Open(), use, destroy (stops the writer after draining).

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "rocksdb/db.h"
#include "services/common/clock/clock.h"
#include "services/common/crypto/crypto.h"
#include "services/common/merkle/merkle.h"
#include "wangge/common/v1/checkpoint.pb.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/common/v1/store.pb.h"

namespace wangge::eventstore {

// Expected version of a stream before an append.
inline constexpr int64_t kAnyVersion = -1;
inline constexpr int64_t kNoStream = 0;

inline constexpr char kCheckpointType[] = "wangge.common.v1.Checkpoint";
// The largest event record: each is one Kafka message, and librdkafka's
// message.max.bytes (1,000,000 by default, brokers alike) must hold it with
// its hashes. A larger one could never be published, and would hold back
// every later event of its partition.
inline constexpr size_t kMaxRecordBytes = 900 * 1024;

enum class Durability { kSync, kAsync };

struct Options {
  std::string service;  // owner; written into every envelope
  std::string path;
  int partitions = 8;
  Durability durability = Durability::kSync;
  wangge::common::v1::HashAlgorithm hash_algorithm =
      wangge::common::v1::HASH_ALGORITHM_SHA256;
  // Signs checkpoints; without one no checkpoints are written.
  std::shared_ptr<const crypto::Signer> signer;
  uint64_t checkpoint_every_events = 1000;
  absl::Duration checkpoint_every = absl::Seconds(10);
  const Clock* clock = Clock::Real();
  // Most jobs one group commit takes from the queue.
  size_t max_group = 4096;
  // Tests only: stands in for the WAL fsync (fault injection).
  std::function<rocksdb::Status()> sync_wal_for_test;
};

struct NewEvent {
  std::string type;     // full proto name of the payload
  std::string payload;  // serialized payload
  uint32_t schema_version = 1;
  absl::Time occurred_time = absl::InfinitePast();  // default: now
  std::string causation_id;
  std::string correlation_id;
  std::string policy_version;
  // Filled by Append on the caller's thread: the envelope serialized without
  // the fields only the writer knows (stream version, partition, sequence,
  // recorded time), which the writer appends as a second chunk.
  std::string prepared;
};

// A payload message as a NewEvent (type from its descriptor).
NewEvent MakeEvent(const google::protobuf::Message& payload,
                   uint32_t schema_version = 1);

struct StreamAppend {
  std::string stream_id;
  int64_t expected_version = kAnyVersion;
  std::vector<NewEvent> events;
};

// A row of a projection, put (value set) or deleted.
struct ProjectionWrite {
  std::string projection;
  std::string key;
  std::optional<std::string> value;
};

// A position of another service's log that this write applies.
struct Consumed {
  std::string service;
  uint32_t partition = 0;
  uint64_t sequence = 0;
};

struct AppendRequest {
  // Idempotency key; empty: none.
  std::string command_id;
  // With a command id: the service's answer to the command (serialized,
  // without positions), kept with it and given back to a retry.
  std::string command_response;
  wangge::common::v1::Actor actor;
  std::vector<StreamAppend> streams;
  std::vector<ProjectionWrite> projection_writes;
  // Each must be exactly the next sequence after the one stored for its
  // (service, partition); one already applied makes the whole request a
  // duplicate that writes nothing.
  std::vector<Consumed> consumed;
  // Return once written, before the fsync (`sync` durability only): for
  // effects that a power loss may drop because they are derived again from
  // their source (a consumer's). The events are published once durable.
  bool defer_fsync = false;
};

struct AppendResult {
  // One per partition touched: the last sequence written there.
  std::vector<wangge::common::v1::Position> positions;
  std::vector<wangge::common::v1::StreamVersion> stream_versions;
  // True when the command id (or a consumed position) was already applied:
  // nothing was written and this is the first result.
  bool duplicate = false;
  // A duplicate command's `command_response` as first stored.
  std::string command_response;
};

struct VerifyReport {
  bool ok = true;
  uint32_t partition = 0;
  uint64_t events = 0;       // events walked
  uint64_t checkpoints = 0;  // checkpoints checked
  uint64_t first_bad_sequence = 0;
  std::string reason;
};

// A stored event's fields, pointing into bytes owned by someone else.
struct StoredEventView {
  absl::string_view record;
  absl::string_view leaf_hash;
  absl::string_view chain_hash;
};
// Parses serialized StoredEvent bytes without copying; false if malformed.
bool ParseStoredEventView(absl::string_view bytes, StoredEventView* view);

// An upcaster lifts a payload from `from_version` to `from_version + 1`.
using Upcaster = std::function<absl::StatusOr<std::string>(const std::string&)>;

class EventStore {
 public:
  static absl::StatusOr<std::unique_ptr<EventStore>> Open(Options options);
  ~EventStore();

  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  // Appends atomically; ABORTED names the stream whose expected version
  // did not hold, INVALID_ARGUMENT a malformed request.
  absl::StatusOr<AppendResult> Append(AppendRequest request);

  // The first result of a command already applied (empty: none), so that a
  // handler can answer a retry before deciding again.
  absl::StatusOr<std::optional<AppendResult>> CommandResult(
      const std::string& command_id) const;

  // This store consumes `service`'s events (a consumer was set up for it):
  // its positions may be waited for.
  void FollowSource(const std::string& service);

  // The stream's current version (0: no stream).
  absl::StatusOr<uint64_t> StreamVersion(const std::string& stream_id) const;
  // Events of a stream from `from_version` (1-based), at most `max`.
  absl::StatusOr<std::vector<wangge::common::v1::StoredEvent>> ReadStream(
      const std::string& stream_id, uint64_t from_version = 1,
      size_t max = SIZE_MAX) const;
  // Events of a partition from `from_sequence` (1-based), at most `max`.
  absl::StatusOr<std::vector<wangge::common::v1::StoredEvent>> ReadPartition(
      uint32_t partition, uint64_t from_sequence, size_t max) const;

  // Visits committed events of a partition from `from_sequence` without
  // copying them (replay, audit); `fn` returns false to stop. The view is
  // valid only during the call.
  absl::Status ScanPartition(
      uint32_t partition, uint64_t from_sequence,
      const std::function<bool(uint64_t sequence, const StoredEventView&)>& fn)
      const;

  // Approximate memory RocksDB holds, by kind: "memtables" (all column
  // families, flushing ones included), "table_readers" (index and filter
  // blocks outside the cache), "block_cache" (the shared cache, pinned
  // blocks included).
  std::map<std::string, uint64_t> MemoryUsage() const;

  // Last committed (durable, published) sequence of each partition.
  std::vector<uint64_t> Heads() const;
  uint64_t Head(uint32_t partition) const;
  // Waits until partition's head passes `after` or `deadline`; returns the
  // head. The live tail of ReadLog.
  uint64_t WaitForAppend(uint32_t partition, uint64_t after,
                         absl::Time deadline) const;
  // Waits until any partition's head passes `seen` (one entry per
  // partition) or `deadline`; the relay sleeps on this.
  void WaitForAnyAppend(const std::vector<uint64_t>& seen,
                        absl::Time deadline) const;
  // Waits until every position is applied here (own service: committed;
  // others: consumed). DEADLINE_EXCEEDED names the first one missing;
  // INVALID_ARGUMENT (field min_positions), at once, for a position that
  // could never be applied here (a partition beyond the count, a service
  // this one does not follow (see FollowSource), an own position never
  // written) and for more than max(64, 5 x partitions) positions.
  absl::Status WaitForPositions(
      const std::vector<wangge::common::v1::Position>& positions,
      absl::Time deadline) const;
  // The same for a request's min_positions (none: at once, no lock taken).
  absl::Status WaitForPositions(const google::protobuf::RepeatedPtrField<
                                    wangge::common::v1::Position>& positions,
                                absl::Time deadline) const;
  // Last applied sequence of another service's partition (0: none).
  uint64_t ConsumedPosition(const std::string& service,
                            uint32_t partition) const;

  // Proofs and checkpoints (EventLog service).
  absl::StatusOr<std::string> Root(uint32_t partition, uint64_t size) const;
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint32_t partition,
                                                          uint64_t index,
                                                          uint64_t size) const;
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(
      uint32_t partition, uint64_t first, uint64_t second) const;
  // The latest checkpoint, or the one of `tree_size` (NOT_FOUND if none).
  absl::StatusOr<wangge::common::v1::Checkpoint> GetCheckpoint(
      uint32_t partition, uint64_t tree_size = 0) const;
  // Writes a checkpoint now for each partition with new events.
  absl::Status CheckpointNow();

  // Re-walks a partition: record hashes, chain, sequences, stored Merkle
  // nodes and every checkpoint (root, chain, and signature when `verifier`
  // is given). Reports the first broken position.
  VerifyReport Verify(uint32_t partition,
                      const crypto::Verifier* verifier = nullptr) const;

  // Envelope of a stored event, with its payload upcast to the newest
  // registered schema version (the record itself never changes).
  absl::StatusOr<wangge::common::v1::EventEnvelope> Decode(
      const wangge::common::v1::StoredEvent& event) const;
  void RegisterUpcaster(const std::string& type, uint32_t from_version,
                        Upcaster upcaster);

  // Projections.
  absl::StatusOr<std::optional<std::string>> GetProjection(
      const std::string& projection, const std::string& key) const;
  // Rows whose key starts with `prefix` (and, with `after`, sorts after it:
  // a page token), in key order, until `fn` says stop.
  absl::Status ScanProjection(
      const std::string& projection, const std::string& prefix,
      const std::string& after,
      const std::function<bool(const std::string& key,
                               const std::string& value)>& fn) const;
  absl::Status ScanProjection(
      const std::string& projection, const std::string& prefix,
      const std::function<bool(const std::string& key,
                               const std::string& value)>& fn) const {
    return ScanProjection(projection, prefix, "", fn);
  }
  // Rows with keys in [from, to), in key order, until `fn` returns false.
  absl::Status ScanProjectionRange(
      const std::string& projection, const std::string& from,
      const std::string& to,
      const std::function<bool(const std::string& key,
                               const std::string& value)>& fn) const;
  // Several ranges [from, to) through one iterator (one seek each, instead
  // of an iterator each); `fn` gets the range's index and returns false to
  // end that range.
  absl::Status ScanProjectionRanges(
      const std::string& projection,
      const std::vector<std::pair<std::string, std::string>>& ranges,
      const std::function<bool(size_t range, const std::string& key,
                               const std::string& value)>& fn) const;
  // Hash over the projection's rows in key order, and its row count.
  absl::StatusOr<std::pair<std::string, uint64_t>> ProjectionDigest(
      const std::string& projection) const;
  // Digests of `projections` all as of one moment, with the heads of that
  // moment, once those heads are durable (GetStateDigest: under load the
  // rows and the heads read apart would not match any replay).
  struct DigestsAt {
    std::vector<uint64_t> heads;
    std::vector<std::pair<std::string, uint64_t>> digests;
  };
  absl::StatusOr<DigestsAt> ProjectionDigestsAt(
      const std::vector<std::string>& projections, absl::Time deadline);

  // Small metadata values (relay positions and the like).
  absl::StatusOr<std::optional<std::string>> GetMeta(
      const std::string& key) const;
  // `sync`: fsync in `sync` durability (false for positions that are only
  // hints, like the relay's).
  absl::Status PutMeta(const std::string& key, const std::string& value,
                       bool sync = true);

  int partitions() const { return options_.partitions; }
  const std::string& service() const { return options_.service; }
  uint32_t PartitionOf(const std::string& stream_id) const;
  const crypto::Hasher& hasher() const { return hasher_; }
  // RocksDB WAL fsyncs so far (group commits in `sync` mode).
  uint64_t wal_syncs() const;
  uint64_t group_commits() const { return group_commits_.load(); }
  // A WAL fsync failed. What it covered may not be on disk, and a later
  // fsync would not say (Linux reports a write-back error once): from then
  // on every append and command lookup fails, nothing more is acknowledged
  // or published, and the process should restart so RocksDB recovers from
  // what is on disk (ServiceMain exits).
  bool fsync_failed() const { return fsync_failed_.load(); }

 private:
  absl::StatusOr<std::pair<std::string, uint64_t>> ProjectionDigestOf(
      const std::string& projection, const rocksdb::ReadOptions& read) const;
  // ScanProjection through `read` (a snapshot, for one).
  absl::Status ScanProjectionWith(
      const rocksdb::ReadOptions& read, const std::string& projection,
      const std::string& prefix, const std::string& after,
      const std::function<bool(const std::string&, const std::string&)>& fn)
      const;
  // Runs `f` while no group is being written (queue_mu_ held, so none can
  // start): every group a read then sees is counted in the written heads.
  void BetweenGroups(const std::function<void()>& f) const;
  struct PartitionState {
    uint64_t head = 0;
    std::string chain;
    merkle::CompactRange range;
    // Sequence of the last checkpoint event (0: none); it covers the tree
    // of size last_checkpoint_seq - 1.
    uint64_t last_checkpoint_seq = 0;
    absl::Time last_checkpoint_time;
  };
  struct Job {
    AppendRequest request;
    bool checkpoint_now = false;
    absl::StatusOr<AppendResult> result;
    absl::Notification done;
  };
  class Group;

  explicit EventStore(Options options);
  absl::Status Load();
  void WriterLoop();
  // Fsyncs the WAL behind the writer, publishes and acknowledges.
  void SyncerLoop();
  // One fsync covering `writes` (if not yet durable), then publishes
  // `heads` and acknowledges `jobs` (with an error if the fsync failed,
  // then false).
  bool SyncAndAcknowledge(uint64_t writes, const std::vector<uint64_t>& heads,
                          const std::vector<Job*>& jobs);
  void ProcessGroup(std::vector<Job*>& jobs);
  // ProcessGroup by the thread that set `writing_`, which it then clears.
  void WriteGroup(std::vector<Job*>& jobs);
  // INVALID_ARGUMENT for a partition the store does not have.
  absl::Status CheckPartition(uint32_t partition) const;
  merkle::Tree TreeOf(uint32_t partition) const;
  absl::StatusOr<std::string> Node(uint32_t partition, int level,
                                   uint64_t index) const;
  // Writer helpers (see event_store.cc).
  void Prepare(AppendRequest* request) const;
  absl::StatusOr<AppendResult> ApplyAppend(const AppendRequest& request,
                                           absl::Time now, Group* group);
  void AppendEvent(uint32_t partition, const std::string& stream_id,
                   uint64_t stream_version, const NewEvent& event,
                   const AppendRequest& request, absl::Time now, Group* group);
  void MaybeCheckpoint(uint32_t partition, absl::Time now, bool force,
                       Group* group);

  const Options options_;
  const crypto::Hasher hasher_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* meta_cf_ = nullptr;
  // The log's column family of each partition (all the same one in a store
  // created before the log was split by partition).
  std::vector<rocksdb::ColumnFamilyHandle*> log_cfs_;
  rocksdb::ColumnFamilyHandle* streams_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* merkle_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* commands_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* projections_cf_ = nullptr;
  std::shared_ptr<rocksdb::Statistics> statistics_;

  // Writer state: touched only by the thread holding `writing_` (the writer
  // thread, or an appender that found the queue empty), and Load before.
  std::vector<PartitionState> states_;

  // Queue.
  mutable absl::Mutex queue_mu_;
  std::deque<Job*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  // Some thread is in ProcessGroup: groups are written one at a time.
  bool writing_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread writer_;

  // Committed heads and consumed positions, published after each write.
  mutable absl::Mutex heads_mu_;
  // Durable and published (what the log shows).
  std::vector<uint64_t> heads_ ABSL_GUARDED_BY(heads_mu_);
  // Written, maybe not fsync'd yet; the syncer's work is the difference.
  std::vector<uint64_t> written_heads_ ABSL_GUARDED_BY(heads_mu_);
  uint64_t written_writes_ ABSL_GUARDED_BY(heads_mu_) = 0;
  uint64_t synced_writes_ ABSL_GUARDED_BY(heads_mu_) = 0;
  // Writes some thread is fsyncing (or has): the syncer leaves them alone.
  uint64_t claimed_writes_ ABSL_GUARDED_BY(heads_mu_) = 0;
  // Appends acknowledged by the syncer after its next fsync.
  std::vector<Job*> awaiting_fsync_ ABSL_GUARDED_BY(heads_mu_);
  bool syncer_stopping_ ABSL_GUARDED_BY(heads_mu_) = false;
  std::thread syncer_;
  absl::flat_hash_map<std::string, uint64_t> consumed_
      ABSL_GUARDED_BY(heads_mu_);
  absl::flat_hash_set<std::string> followed_ ABSL_GUARDED_BY(heads_mu_);

  mutable absl::Mutex upcasters_mu_;
  std::map<std::pair<std::string, uint32_t>, Upcaster> upcasters_
      ABSL_GUARDED_BY(upcasters_mu_);

  std::atomic<uint64_t> group_commits_{0};
  std::atomic<bool> fsync_failed_{false};
};

// The digest of a projection's rows, fed in key order: SHA-256 or SM3 over
// len(key) key len(value) value, 8-byte big-endian lengths. The store's
// ProjectionDigest and the audit tool's replay compute the same; rows are
// streamed, never collected.
class RowDigest {
 public:
  explicit RowDigest(wangge::common::v1::HashAlgorithm algorithm)
      : hash_(algorithm) {}
  void Add(absl::string_view key, absl::string_view value);
  // The digest and the number of rows.
  std::pair<std::string, uint64_t> Finish();

 private:
  // Rows are gathered into 64 KiB pieces before hashing: four hash updates
  // and two length strings per row cost more than the hashing.
  void Flush();

  crypto::StreamingHash hash_;
  std::string pending_;
  uint64_t rows_ = 0;
};

// Key helpers, shared with tests and tools.
std::string EventKey(uint32_t partition, uint64_t sequence);
std::string ConsumedKey(const std::string& service, uint32_t partition);

}  // namespace wangge::eventstore

#endif  // WANGGE_SERVICES_COMMON_EVENTSTORE_EVENT_STORE_H_
