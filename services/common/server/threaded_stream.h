#ifndef WANGGE_SERVICES_COMMON_SERVER_THREADED_STREAM_H_
#define WANGGE_SERVICES_COMMON_SERVER_THREADED_STREAM_H_

// A server stream produced on a thread of its own, one blocking write at a
// time, for streams that wait for new data (ReadLog's live tail, watches):
// waiting there never holds one of gRPC's callback threads.
//
// Lifecycle: construct with new, call Begin(caller); Produce() runs on the
// stream's thread and returns the final status; the object deletes itself when
// gRPC is done with it.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "services/common/status/errors.h"
#include "services/common/status/grpc_status.h"

namespace wangge::server {

// How many threaded streams a process serves at once, and one caller
// (token subject) of them. Each holds a thread for as long as its client
// listens, so a flood of watchers could otherwise take every thread and all
// memory, and one runaway client every place; past a limit a new stream is
// refused with RESOURCE_EXHAUSTED (clients retry with backoff).
class StreamBudget {
 public:
  static void SetLimit(int limit) { limit_ = limit; }
  static void SetCallerLimit(int limit) { caller_limit_ = limit; }
  static int limit() { return limit_; }
  static int open() { return open_; }
  // OK, or RESOURCE_EXHAUSTED saying which limit was reached.
  static absl::Status Acquire(const std::string& caller) {
    absl::MutexLock lock(&mu());
    if (open_ >= limit_) {
      return status::ResourceExhausted(
          "this server has its limit of open streams; retry later",
          absl::Seconds(1));
    }
    int& mine = by_caller()[caller];
    if (mine >= caller_limit_) {
      return status::ResourceExhausted(
          absl::StrCat(caller, " has its limit of ", caller_limit_.load(),
                       " open streams here; close one or retry later"),
          absl::Seconds(1));
    }
    ++mine;
    ++open_;
    return absl::OkStatus();
  }
  static void Release(const std::string& caller) {
    absl::MutexLock lock(&mu());
    auto it = by_caller().find(caller);
    if (it != by_caller().end() && --it->second == 0) by_caller().erase(it);
    --open_;
  }

 private:
  static absl::Mutex& mu() {
    static absl::Mutex* m = new absl::Mutex;
    return *m;
  }
  static absl::flat_hash_map<std::string, int>& by_caller() {
    static auto* m = new absl::flat_hash_map<std::string, int>;
    return *m;
  }
  static inline std::atomic<int> limit_{1024};
  static inline std::atomic<int> caller_limit_{64};
  static inline std::atomic<int> open_{0};
};

template <typename Response>
class ThreadedStream : public grpc::ServerWriteReactor<Response> {
 public:
  // `caller`: the token's subject, whose share of the budget this takes.
  void Begin(const std::string& caller) {
    absl::Status admitted = StreamBudget::Acquire(caller);
    if (!admitted.ok()) {
      this->Finish(status::ToGrpcStatus(admitted));
      return;
    }
    caller_ = caller;
    counted_ = true;
    thread_ = std::thread([this] { this->Finish(Produce()); });
  }
  void OnWriteDone(bool ok) override {
    write_ok_ = ok;
    written_->Notify();
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override {
    if (thread_.joinable()) thread_.join();
    if (counted_) StreamBudget::Release(caller_);
    delete this;
  }

 protected:
  virtual ~ThreadedStream() = default;
  virtual grpc::Status Produce() = 0;

  // Writes one message and waits for it; false when the client went away.
  bool Send(const Response& response) {
    written_ = std::make_unique<absl::Notification>();
    this->StartWrite(&response);
    written_->WaitForNotification();
    return write_ok_;
  }
  bool cancelled() const { return cancelled_; }

 private:
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> write_ok_{false};
  std::unique_ptr<absl::Notification> written_;
  std::thread thread_;
  std::string caller_;
  bool counted_ = false;
};

// A ThreadedStream fed by other threads (Enqueue: a listener of changes)
// and drained by its own (Drain), for watches. A client that reads slower
// than changes come falls behind; past `max_pending` changes waiting, its
// stream ends with RESOURCE_EXHAUSTED instead of growing without bound (the
// client watches again, and gets the current state first).
template <typename Response>
class QueuedStream : public ThreadedStream<Response> {
 public:
  static constexpr size_t kDefaultMaxPending = 10000;
  explicit QueuedStream(size_t max_pending = kDefaultMaxPending)
      : max_pending_(max_pending) {}

 protected:
  void Enqueue(const Response& response) {
    absl::MutexLock lock(&mu_);
    if (overflowed_) return;
    if (pending_.size() >= max_pending_) {
      overflowed_ = true;
      pending_.clear();
      return;
    }
    pending_.push_back(response);
  }
  // Sends what is enqueued (`keep` filters) as it comes, until the client
  // goes away.
  grpc::Status Drain(
      const std::function<bool(const Response&)>& keep = nullptr) {
    while (!this->cancelled()) {
      std::deque<Response> batch;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !pending_.empty() || overflowed_;
        };
        mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(200));
        if (overflowed_) {
          return status::ToGrpcStatus(status::ResourceExhausted(
              absl::StrCat("this watch fell more than ", max_pending_,
                           " changes behind; watch again"),
              absl::Seconds(1)));
        }
        batch.swap(pending_);
      }
      for (const auto& r : batch) {
        if (keep && !keep(r)) continue;
        if (!this->Send(r)) return grpc::Status::OK;
      }
    }
    return grpc::Status::OK;
  }

 private:
  const size_t max_pending_;
  absl::Mutex mu_;
  std::deque<Response> pending_ ABSL_GUARDED_BY(mu_);
  bool overflowed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace wangge::server

#endif  // WANGGE_SERVICES_COMMON_SERVER_THREADED_STREAM_H_
