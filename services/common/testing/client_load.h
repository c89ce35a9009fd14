#ifndef WANGGE_SERVICES_COMMON_TESTING_CLIENT_LOAD_H_
#define WANGGE_SERVICES_COMMON_TESTING_CLIENT_LOAD_H_

// Benchmarks' clients, each calling one unary method until told to stop and
// recording every call's latency:
// - CallbackLoad: gRPC's callback API, `in_flight` calls kept outstanding,
//   each completion (on a gRPC thread) starting the next, so no client
//   thread waits per call;
// - BlockingLoad: a thread of its own with a blocking stub, one call at a
//   time (about twice the CPU per call on this VM: grpc_bench).

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace wangge::testing {

template <typename Request, typename Response>
class CallbackLoad {
 public:
  // Starts one call, e.g. stub->async()->Echo(context, request, response,
  // done); the stub outlives this object.
  using Call =
      std::function<void(grpc::ClientContext*, const Request*, Response*,
                         std::function<void(grpc::Status)>)>;
  // The n-th request of this client.
  using MakeRequest = std::function<Request(uint64_t n)>;

  // `authorization`: the header's value, or empty for none.
  CallbackLoad(Call call, MakeRequest make_request, std::string authorization,
               int in_flight, const std::atomic<bool>* stop)
      : call_(std::move(call)),
        make_request_(std::move(make_request)),
        authorization_(std::move(authorization)),
        stop_(stop),
        slots_(in_flight) {
    for (auto& slot : slots_) {
      {
        absl::MutexLock lock(&mu_);
        ++active_;
        slot.request = make_request_(next_++);
      }
      Issue(&slot);
    }
  }
  CallbackLoad(const CallbackLoad&) = delete;
  CallbackLoad& operator=(const CallbackLoad&) = delete;

  // Once `stop` is set: waits for the outstanding calls, then adds their
  // latencies (µs) and failures.
  void Drain(std::vector<double>* latencies_us, uint64_t* failed) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* active) { return *active == 0; }, &active_));
    latencies_us->insert(latencies_us->end(), latencies_.begin(),
                         latencies_.end());
    *failed += failed_;
  }

 private:
  struct Slot {
    std::unique_ptr<grpc::ClientContext> context;
    Request request;
    Response response;
    absl::Time started;
  };
  void Issue(Slot* slot) {
    slot->context = std::make_unique<grpc::ClientContext>();
    if (!authorization_.empty()) {
      slot->context->AddMetadata("authorization", authorization_);
    }
    slot->started = absl::Now();
    call_(slot->context.get(), &slot->request, &slot->response,
          [this, slot](grpc::Status s) {
            const double us =
                absl::ToDoubleMicroseconds(absl::Now() - slot->started);
            bool again;
            {
              absl::MutexLock lock(&mu_);
              latencies_.push_back(us);
              if (!s.ok()) ++failed_;
              // Decided under the lock: once `active_` drops, Drain may
              // return and this object go away.
              again = !stop_->load();
              if (again) {
                slot->request = make_request_(next_++);
              } else {
                --active_;
              }
            }
            if (again) Issue(slot);
          });
  }

  const Call call_;
  const MakeRequest make_request_;
  const std::string authorization_;
  const std::atomic<bool>* const stop_;
  std::vector<Slot> slots_;
  absl::Mutex mu_;
  int active_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failed_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<double> latencies_ ABSL_GUARDED_BY(mu_);
};

template <typename Request, typename Response>
class BlockingLoad {
 public:
  // One blocking call, e.g. stub->Echo(context, request, response).
  using Call = std::function<grpc::Status(grpc::ClientContext*, const Request&,
                                          Response*)>;
  using MakeRequest = std::function<Request(uint64_t n)>;

  BlockingLoad(Call call, MakeRequest make_request, std::string authorization,
               const std::atomic<bool>* stop)
      : thread_([this, call = std::move(call),
                 make_request = std::move(make_request),
                 authorization = std::move(authorization), stop] {
          for (uint64_t n = 0; !stop->load(); ++n) {
            grpc::ClientContext context;
            if (!authorization.empty()) {
              context.AddMetadata("authorization", authorization);
            }
            const Request request = make_request(n);
            Response response;
            const absl::Time t0 = absl::Now();
            const grpc::Status s = call(&context, request, &response);
            latencies_.push_back(absl::ToDoubleMicroseconds(absl::Now() - t0));
            if (!s.ok()) ++failed_;
          }
        }) {}
  BlockingLoad(const BlockingLoad&) = delete;
  BlockingLoad& operator=(const BlockingLoad&) = delete;
  ~BlockingLoad() {
    if (thread_.joinable()) thread_.join();
  }

  // As CallbackLoad::Drain.
  void Drain(std::vector<double>* latencies_us, uint64_t* failed) {
    thread_.join();
    latencies_us->insert(latencies_us->end(), latencies_.begin(),
                         latencies_.end());
    *failed += failed_;
  }

 private:
  // The thread's alone until Drain joins it.
  std::vector<double> latencies_;
  uint64_t failed_ = 0;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace wangge::testing

#endif  // WANGGE_SERVICES_COMMON_TESTING_CLIENT_LOAD_H_
