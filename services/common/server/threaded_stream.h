#ifndef WANGGE_SERVICES_COMMON_SERVER_THREADED_STREAM_H_
#define WANGGE_SERVICES_COMMON_SERVER_THREADED_STREAM_H_

// A server stream produced on a thread of its own, one blocking write at a
// time, for streams that wait for new data (ReadLog's live tail, watches):
// waiting there never holds one of gRPC's callback threads.
//
// Lifecycle: construct with new, call Begin(); Produce() runs on the stream's
// thread and returns the final status; the object deletes itself when gRPC
// is done with it.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace wangge::server {

template <typename Response>
class ThreadedStream : public grpc::ServerWriteReactor<Response> {
 public:
  void Begin() {
    thread_ = std::thread([this] { this->Finish(Produce()); });
  }
  void OnWriteDone(bool ok) override {
    write_ok_ = ok;
    written_->Notify();
  }
  void OnCancel() override { cancelled_ = true; }
  void OnDone() override {
    thread_.join();
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
};

// A ThreadedStream fed by other threads (Enqueue: a listener of changes)
// and drained by its own (Drain), for watches.
template <typename Response>
class QueuedStream : public ThreadedStream<Response> {
 protected:
  void Enqueue(const Response& response) {
    absl::MutexLock lock(&mu_);
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
          return !pending_.empty();
        };
        mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(200));
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
  absl::Mutex mu_;
  std::deque<Response> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wangge::server

#endif  // WANGGE_SERVICES_COMMON_SERVER_THREADED_STREAM_H_
