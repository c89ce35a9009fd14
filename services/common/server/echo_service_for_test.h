#ifndef WANGGE_SERVICES_COMMON_SERVER_ECHO_SERVICE_FOR_TEST_H_
#define WANGGE_SERVICES_COMMON_SERVER_ECHO_SERVICE_FOR_TEST_H_

// wangge.testing.v1.EchoService behind the chassis guard, for chassis tests.
// `entered` counts calls whose body ran, so tests can prove a refused call
// never reached it.

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "services/common/server/chassis.h"
#include "wangge/testing/v1/echo.grpc.pb.h"

namespace wangge::server {

class EchoServiceForTest final
    : public wangge::testing::v1::EchoService::CallbackService {
 public:
  explicit EchoServiceForTest(Chassis* chassis) : chassis_(chassis) {}

  grpc::ServerUnaryReactor* Echo(
      grpc::CallbackServerContext* context,
      const wangge::testing::v1::EchoRequest* request,
      wangge::testing::v1::EchoResponse* response) override {
    return chassis_->Unary(
        context, "wangge.testing.v1.EchoService.Echo", request, response,
        [=](const Caller& caller) {
          ++entered;
          if (request->delay_ms() > 0) {
            std::this_thread::sleep_for(
                std::chrono::milliseconds(request->delay_ms()));
          }
          response->set_message(request->message());
          response->set_caller(caller.actor.subject());
          return absl::OkStatus();
        });
  }

  grpc::ServerWriteReactor<wangge::testing::v1::EchoResponse>* EchoStream(
      grpc::CallbackServerContext* context,
      const wangge::testing::v1::EchoRequest* request) override {
    return chassis_->Stream<wangge::testing::v1::EchoResponse>(
        context, "wangge.testing.v1.EchoService.EchoStream", *request,
        [=](const Caller& caller)
            -> grpc::ServerWriteReactor<wangge::testing::v1::EchoResponse>* {
          ++entered;
          return new Writer(request->message(), request->count());
        });
  }

  std::atomic<int> entered{0};

 private:
  class Writer final
      : public grpc::ServerWriteReactor<wangge::testing::v1::EchoResponse> {
   public:
    Writer(std::string message, int count) : left_(count) {
      response_.set_message(std::move(message));
      Next();
    }
    void OnWriteDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status::CANCELLED);
        return;
      }
      Next();
    }
    void OnDone() override { delete this; }

   private:
    void Next() {
      if (left_-- <= 0) {
        Finish(grpc::Status::OK);
        return;
      }
      StartWrite(&response_);
    }
    wangge::testing::v1::EchoResponse response_;
    int left_;
  };

  Chassis* const chassis_;
};

}  // namespace wangge::server

#endif  // WANGGE_SERVICES_COMMON_SERVER_ECHO_SERVICE_FOR_TEST_H_
