// Threaded streams over real gRPC on loopback: a watcher that falls too far
// behind is ended with RESOURCE_EXHAUSTED, and past the process's stream
// budget a new stream is refused until one closes.

#include "services/common/server/threaded_stream.h"

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "wangge/testing/v1/echo.grpc.pb.h"

namespace wangge::server {
namespace {

using wangge::testing::v1::EchoRequest;
using wangge::testing::v1::EchoResponse;
using wangge::testing::v1::EchoService;

// `count` changes of `message` arrive at once from another thread, as a
// burst of events reaches a watch whose client is not reading.
class Burst final : public QueuedStream<EchoResponse> {
 public:
  Burst(std::string message, int count)
      : QueuedStream<EchoResponse>(/*max_pending=*/100),
        message_(std::move(message)),
        count_(count) {}
  ~Burst() override {
    if (feeder_.joinable()) feeder_.join();
  }

 private:
  grpc::Status Produce() override {
    feeder_ = std::thread([this] {
      EchoResponse r;
      r.set_message(message_);
      for (int i = 0; i < count_; ++i) Enqueue(r);
    });
    return Drain();
  }
  const std::string message_;
  const int count_;
  std::thread feeder_;
};

class StreamService final : public EchoService::CallbackService {
  grpc::ServerWriteReactor<EchoResponse>* EchoStream(
      grpc::CallbackServerContext*, const EchoRequest* request) override {
    auto* stream = new Burst(request->message(), request->count());
    stream->Begin(request->message());
    return stream;
  }
};

class ThreadedStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = EchoService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now());
    StreamBudget::SetLimit(1024);
    StreamBudget::SetCallerLimit(64);
  }

  StreamService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<EchoService::Stub> stub_;
};

TEST_F(ThreadedStreamTest, AWatcherTooFarBehindIsEndedNotBuffered) {
  grpc::ClientContext ctx;
  EchoRequest request;
  request.set_message(std::string(4096, 'x'));
  request.set_count(5000);  // 20 MB: more than the transport will hold
  auto reader = stub_->EchoStream(&ctx, request);
  // Not reading while the burst arrives.
  absl::SleepFor(absl::Seconds(1));
  EchoResponse r;
  int read = 0;
  while (reader->Read(&r)) ++read;
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << s.error_message();
  EXPECT_GT(status::RetryAfter(status::FromGrpcStatus(s)),
            absl::ZeroDuration());
  EXPECT_LT(read, 5000);

  // A small burst is delivered whole (and the watch goes on until the
  // client leaves).
  grpc::ClientContext small_ctx;
  request.set_count(50);
  auto small = stub_->EchoStream(&small_ctx, request);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(small->Read(&r)) << i;
  small_ctx.TryCancel();
  small->Finish();
}

TEST_F(ThreadedStreamTest, PastTheBudgetANewStreamIsRefusedUntilOneCloses) {
  StreamBudget::SetLimit(2);
  EchoRequest request;
  request.set_count(1);
  EchoResponse r;
  grpc::ClientContext first_ctx, second_ctx;
  auto first = stub_->EchoStream(&first_ctx, request);
  auto second = stub_->EchoStream(&second_ctx, request);
  ASSERT_TRUE(first->Read(&r));  // both open and serving
  ASSERT_TRUE(second->Read(&r));
  EXPECT_EQ(StreamBudget::open(), 2);
  {
    grpc::ClientContext ctx;
    auto third = stub_->EchoStream(&ctx, request);
    EXPECT_FALSE(third->Read(&r));
    const grpc::Status refused = third->Finish();
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    // With a retry hint, as every RESOURCE_EXHAUSTED.
    EXPECT_GT(status::RetryAfter(status::FromGrpcStatus(refused)),
              absl::ZeroDuration());
  }
  first_ctx.TryCancel();
  first->Finish();
  // The closed stream's place is free again (its reactor ends shortly).
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    grpc::ClientContext ctx;
    auto again = stub_->EchoStream(&ctx, request);
    served = again->Read(&r);
    ctx.TryCancel();
    again->Finish();
    if (!served) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(served);
  second_ctx.TryCancel();
  second->Finish();
}

// The test service takes the request's message as the caller.
TEST_F(ThreadedStreamTest, OneCallerHoldsOnlyItsShareOfTheStreams) {
  StreamBudget::SetCallerLimit(2);
  EchoRequest request;
  request.set_count(1);
  request.set_message("watcher-a");
  EchoResponse r;
  grpc::ClientContext first_ctx, second_ctx;
  auto first = stub_->EchoStream(&first_ctx, request);
  auto second = stub_->EchoStream(&second_ctx, request);
  ASSERT_TRUE(first->Read(&r));
  ASSERT_TRUE(second->Read(&r));
  {
    grpc::ClientContext ctx;
    auto third = stub_->EchoStream(&ctx, request);
    EXPECT_FALSE(third->Read(&r));
    const grpc::Status refused = third->Finish();
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(refused.error_message().find("watcher-a has its limit of 2"),
              std::string::npos)
        << refused.error_message();
  }
  // Another caller is still served while watcher-a holds its two.
  request.set_message("watcher-b");
  grpc::ClientContext other_ctx;
  auto other = stub_->EchoStream(&other_ctx, request);
  EXPECT_TRUE(other->Read(&r));
  other_ctx.TryCancel();
  other->Finish();
  first_ctx.TryCancel();
  first->Finish();
  second_ctx.TryCancel();
  second->Finish();
}

}  // namespace
}  // namespace wangge::server
