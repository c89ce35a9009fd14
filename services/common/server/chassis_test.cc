#include "services/common/server/chassis.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/common/server/channel.h"
#include "services/common/server/echo_service_for_test.h"
#include "services/common/status/errors.h"
#include "services/common/status/grpc_status.h"
#include "services/common/testing/test_support.h"
#include "wangge/testing/v1/reflection_wire.pb.h"

namespace wangge::server {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using wangge::common::v1::ROLE_DISPATCHER;
using wangge::common::v1::ROLE_SHIFT_LEADER;
using wangge::common::v1::ROLE_SUPERVISOR;
using wangge::testing::v1::EchoRequest;
using wangge::testing::v1::EchoResponse;
using wangge::testing::v1::EchoService;

class ChassisTest : public ::testing::Test {
 protected:
  void StartServer(config::ServiceConfig config) {
    chassis_ = std::make_unique<Chassis>(config, Clock::Real());
    echo_ = std::make_unique<EchoServiceForTest>(chassis_.get());
    ASSERT_TRUE(chassis_->Init().ok());
    ASSERT_TRUE(chassis_->Register<EchoService>(echo_.get()).ok());
    ASSERT_TRUE(chassis_->Start().ok());
  }

  void StartPlaintext() {
    dir_ = wangge::testing::MakeTempDir("chassis");
    StartServer(wangge::testing::LoopbackConfig("echo", dir_));
    channel_ = grpc::CreateChannel(chassis_->address(),
                                   grpc::InsecureChannelCredentials());
  }

  // Client certificates required, on localhost (the certificate's name).
  config::ServiceConfig MutualTlsConfig(const wangge::testing::TlsFiles& tls) {
    config::ServiceConfig config =
        wangge::testing::LoopbackConfig("echo", dir_);
    config.tls.plaintext = false;
    config.tls.cert_file = tls.server_cert;
    config.tls.key_file = tls.server_key;
    config.tls.ca_file = tls.ca_cert;
    config.listen = "localhost:0";
    return config;
  }

  grpc::Status Call(std::shared_ptr<grpc::Channel> channel,
                    const std::string& token, const std::string& area,
                    EchoResponse* response) {
    auto stub = EchoService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    EchoRequest request;
    request.set_message("ni hao");
    if (!area.empty()) request.mutable_area()->set_code(area);
    return stub->Echo(&ctx, request, response);
  }

  grpc::Status Call(const std::string& token, const std::string& area) {
    EchoResponse response;
    return Call(channel_, token, area, &response);
  }

  std::string dir_;
  std::unique_ptr<Chassis> chassis_;
  std::unique_ptr<EchoServiceForTest> echo_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(ChassisTest, PlaintextRoundTripCarriesTheCaller) {
  StartPlaintext();
  EchoResponse response;
  grpc::Status s =
      Call(channel_,
           wangge::testing::DevToken(ROLE_SHIFT_LEADER, {"110101"}, "staff-9"),
           "110101001", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.message(), "ni hao");
  EXPECT_EQ(response.caller(), "staff-9");
  EXPECT_EQ(echo_->entered, 1);
}

// A call whose client gave up while it waited for a handler thread never
// runs its body (a command is not applied for nobody).
TEST_F(ChassisTest, ABodyIsSkippedWhenItsCallerGaveUpWaiting) {
  dir_ = wangge::testing::MakeTempDir("chassis");
  config::ServiceConfig config = wangge::testing::LoopbackConfig("echo", dir_);
  config.handler_threads = 1;
  StartServer(config);
  channel_ = grpc::CreateChannel(chassis_->address(),
                                 grpc::InsecureChannelCredentials());
  auto stub = EchoService::NewStub(channel_);
  const std::string token = wangge::testing::DevToken(ROLE_SHIFT_LEADER);
  std::thread slow([&] {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    EchoRequest request;
    request.set_delay_ms(1500);
    request.mutable_area()->set_code("11");
    EchoResponse response;
    EXPECT_TRUE(stub->Echo(&ctx, request, &response).ok());
  });
  absl::SleepFor(absl::Milliseconds(300));  // the one thread is taken
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(300));
  EchoRequest request;
  request.mutable_area()->set_code("11");
  EchoResponse response;
  EXPECT_EQ(stub->Echo(&ctx, request, &response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  slow.join();
  // Wait for the queued call's turn to come and go: the pool records it
  // (abandoned: DEADLINE_EXCEEDED or CANCELLED) without running its body.
  auto abandoned = [&] {
    double n = 0;
    for (const auto& family : chassis_->metrics().registry().Collect()) {
      if (family.name != "wangge_rpc_requests_total") continue;
      for (const auto& m : family.metric) {
        for (const auto& label : m.label) {
          if (label.name == "code" && (label.value == "DEADLINE_EXCEEDED" ||
                                       label.value == "CANCELLED")) {
            n += m.counter.value;
          }
        }
      }
    }
    return n;
  };
  for (int i = 0; i < 100 && abandoned() < 1; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(abandoned(), 1);
  EXPECT_EQ(echo_->entered, 1);
}

// Over gRPC: with every handler busy and the queue full, a call is refused
// at once with RESOURCE_EXHAUSTED and a retry hint; the queued ones run.
TEST_F(ChassisTest, AFullHandlerQueueAnswersResourceExhaustedWithAHint) {
  dir_ = wangge::testing::MakeTempDir("chassis");
  config::ServiceConfig config = wangge::testing::LoopbackConfig("echo", dir_);
  config.handler_threads = 1;  // a queue of 32
  StartServer(config);
  channel_ = grpc::CreateChannel(chassis_->address(),
                                 grpc::InsecureChannelCredentials());
  const std::string token = wangge::testing::DevToken(ROLE_SHIFT_LEADER);
  auto call = [&](int delay_ms) {
    auto stub = EchoService::NewStub(channel_);
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    EchoRequest request;
    request.set_delay_ms(delay_ms);
    request.mutable_area()->set_code("11");
    EchoResponse response;
    return stub->Echo(&ctx, request, &response);
  };
  std::thread slow([&] { EXPECT_TRUE(call(1500).ok()); });
  absl::SleepFor(absl::Milliseconds(300));  // the one thread is taken
  std::atomic<int> ok{0}, refused{0}, hinted{0};
  std::vector<std::thread> burst;
  for (int i = 0; i < 48; ++i) {
    burst.emplace_back([&] {
      grpc::Status s = call(0);
      if (s.ok()) ++ok;
      if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
        ++refused;
        if (status::RetryAfter(status::FromGrpcStatus(s)) >
            absl::ZeroDuration()) {
          ++hinted;
        }
      }
    });
  }
  for (auto& t : burst) t.join();
  slow.join();
  EXPECT_EQ(ok + refused, 48);
  EXPECT_GE(refused.load(), 16);  // 48 against a queue of 32
  EXPECT_EQ(hinted.load(), refused.load());
  EXPECT_GE(ok.load(), 1);
}

// A request larger than the server reads (4 MiB unless the registry) is
// refused before it is held whole: RESOURCE_EXHAUSTED.
TEST_F(ChassisTest, AnOversizedRequestIsRefused) {
  StartPlaintext();
  EchoResponse response;
  auto stub = EchoService::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization",
                  "Bearer " + wangge::testing::DevToken(ROLE_SHIFT_LEADER));
  EchoRequest request;
  request.set_message(std::string(5 << 20, 'x'));
  request.mutable_area()->set_code("11");
  EXPECT_EQ(stub->Echo(&ctx, request, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(echo_->entered, 0);
  EXPECT_TRUE(Call(wangge::testing::DevToken(ROLE_SHIFT_LEADER), "11").ok());
}

TEST(HandlerPoolTest, AFullQueueRefusesInsteadOfGrowing) {
  HandlerPool pool(/*threads=*/1, /*max_queued=*/2);
  absl::Notification started, release;
  ASSERT_TRUE(pool.TryRun([&] {
    started.Notify();
    release.WaitForNotification();
  }));
  started.WaitForNotification();  // the thread is busy, the queue empty
  std::atomic<int> ran{0};
  EXPECT_TRUE(pool.TryRun([&] { ++ran; }));
  EXPECT_TRUE(pool.TryRun([&] { ++ran; }));
  EXPECT_FALSE(pool.TryRun([&] { ++ran; }));
  release.Notify();
  for (int i = 0; i < 100 && ran < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(ran, 2);
  EXPECT_TRUE(pool.TryRun([&] { ++ran; }));  // room again
}

TEST_F(ChassisTest, RefusesBadTokensBeforeTheHandler) {
  StartPlaintext();
  EXPECT_EQ(Call("", "110101").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call("garbage", "110101").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(wangge::testing::DevToken(ROLE_SHIFT_LEADER, {"*"}, "t", "",
                                           "", absl::Seconds(-5)),
                 "110101")
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  auth::Claims other;
  other.subject = "x";
  other.role = ROLE_SHIFT_LEADER;
  other.audience = "not-wangge";
  other.expiry = absl::Now() + absl::Hours(1);
  other.scopes = {"*"};
  EXPECT_EQ(Call(*auth::MintToken(other, "HS256", wangge::testing::kDevSecret),
                 "110101")
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  other.audience = "wangge";
  EXPECT_EQ(Call(*auth::MintToken(other, "HS256", "wrong-key"), "110101")
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const std::string none =
      absl::WebSafeBase64Escape(R"({"alg":"none"})") + "." +
      absl::WebSafeBase64Escape(absl::StrCat(
          R"({"sub":"x","aud":"wangge","role":"shift_leader","scope":"*","exp":)",
          absl::ToUnixSeconds(absl::Now() + absl::Hours(1)), "}")) +
      ".";
  EXPECT_EQ(Call(none, "110101").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(echo_->entered, 0);
}

TEST_F(ChassisTest, WrongRoleAndOutOfScopeAreDeniedWithTheRuleName) {
  StartPlaintext();
  grpc::Status role =
      Call(wangge::testing::DevToken(ROLE_DISPATCHER), "110101");
  EXPECT_EQ(role.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status::DeniedRule(status::FromGrpcStatus(role)), "method_role");

  grpc::Status scope =
      Call(wangge::testing::DevToken(ROLE_SUPERVISOR, {"110101001"}),
           "110101002001");
  EXPECT_EQ(scope.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status::DeniedRule(status::FromGrpcStatus(scope)), "area_scope");

  // No area named means the whole deployment: only for "*" scopes.
  grpc::Status unnamed =
      Call(wangge::testing::DevToken(ROLE_SUPERVISOR, {"110101001"}), "");
  EXPECT_EQ(unnamed.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(echo_->entered, 0);

  EXPECT_TRUE(Call(wangge::testing::DevToken(ROLE_SUPERVISOR, {"110101001"}),
                   "110101001003")
                  .ok());
  EXPECT_EQ(echo_->entered, 1);
}

TEST_F(ChassisTest, StreamingMethodsAreGuardedToo) {
  StartPlaintext();
  auto stub = EchoService::NewStub(channel_);
  EchoRequest request;
  request.set_message("m");
  request.set_count(3);
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization",
                    "Bearer " + wangge::testing::DevToken(ROLE_SUPERVISOR));
    auto reader = stub->EchoStream(&ctx, request);
    EchoResponse r;
    EXPECT_FALSE(reader->Read(&r));
    EXPECT_EQ(reader->Finish().error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(echo_->entered, 0);
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization",
                  "Bearer " + wangge::testing::DevToken(ROLE_SHIFT_LEADER));
  auto reader = stub->EchoStream(&ctx, request);
  EchoResponse r;
  int n = 0;
  while (reader->Read(&r)) ++n;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(n, 3);
}

TEST_F(ChassisTest, HealthHasSeparateLivenessAndReadiness) {
  StartPlaintext();
  auto health = ::grpc::health::v1::Health::NewStub(channel_);
  auto check = [&](const std::string& service) {
    grpc::ClientContext ctx;
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    EXPECT_TRUE(health->Check(&ctx, request, &response).ok());
    return response.status();
  };
  EXPECT_EQ(check("liveness"), HealthCheckResponse::SERVING);
  EXPECT_EQ(check("readiness"), HealthCheckResponse::NOT_SERVING);
  chassis_->SetReady(true);
  EXPECT_EQ(check("readiness"), HealthCheckResponse::SERVING);
  EXPECT_EQ(check(""), HealthCheckResponse::SERVING);
  chassis_->SetReady(false);
  EXPECT_EQ(check("readiness"), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(check("liveness"), HealthCheckResponse::SERVING);
}

// Asks server reflection for the services (the exchange grpcurl starts
// with); the call's status, and the names when it answered.
grpc::Status ListServicesByReflection(std::shared_ptr<grpc::Channel> channel,
                                      std::vector<std::string>* names) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call = stub.PrepareCall(
      &ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
      &cq);
  auto wait = [&](intptr_t want) {
    void* tag;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), want);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  wait(1);
  wangge::testing::v1::ReflectionRequest request;
  request.set_list_services("*");
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  wait(2);
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(3));
  const bool answered = wait(3);
  call->WritesDone(reinterpret_cast<void*>(4));
  wait(4);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  wait(5);
  if (answered) {
    std::vector<grpc::Slice> slices;
    EXPECT_TRUE(in.Dump(&slices).ok());
    std::string received;
    for (const auto& s : slices) {
      received.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    wangge::testing::v1::ReflectionResponse response;
    EXPECT_TRUE(response.ParseFromString(received));
    for (const auto& s : response.list_services_response().service()) {
      names->push_back(s.name());
    }
  }
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

TEST_F(ChassisTest, ReflectionListsTheServices) {
  StartPlaintext();
  std::vector<std::string> names;
  ASSERT_TRUE(ListServicesByReflection(channel_, &names).ok());
  EXPECT_NE(
      std::find(names.begin(), names.end(), "wangge.testing.v1.EchoService"),
      names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "grpc.health.v1.Health"),
            names.end());
}

// --reflection=false (production): no reflection service to ask, while the
// services themselves still answer.
TEST_F(ChassisTest, ReflectionCanBeTurnedOff) {
  dir_ = wangge::testing::MakeTempDir("chassis");
  config::ServiceConfig config = wangge::testing::LoopbackConfig("echo", dir_);
  config.reflection = false;
  StartServer(config);
  channel_ = grpc::CreateChannel(chassis_->address(),
                                 grpc::InsecureChannelCredentials());
  std::vector<std::string> names;
  EXPECT_EQ(ListServicesByReflection(channel_, &names).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(names.empty());
  EXPECT_EQ(Call("", "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// A second server on a port already served fails to start instead of
// sharing the port (gRPC sets SO_REUSEPORT unless told not to): two
// processes of one service on one port would split its calls between two
// stores.
TEST_F(ChassisTest, ASecondServerOnTheSamePortFailsToStart) {
  StartPlaintext();
  config::ServiceConfig config = wangge::testing::LoopbackConfig("echo", dir_);
  config.listen = chassis_->address();
  Chassis second(config, Clock::Real());
  EchoServiceForTest echo(&second);
  ASSERT_TRUE(second.Init().ok());
  ASSERT_TRUE(second.Register<EchoService>(&echo).ok());
  const absl::Status started = second.Start();
  EXPECT_EQ(started.code(), absl::StatusCode::kUnavailable) << started;
  EXPECT_TRUE(absl::StrContains(started.message(), "cannot listen"));
  EXPECT_EQ(
      Call(wangge::testing::DevToken(ROLE_SHIFT_LEADER), "11").error_code(),
      grpc::StatusCode::OK);
}

TEST_F(ChassisTest, MetricsShowTheCall) {
  dir_ = wangge::testing::MakeTempDir("chassis");
  config::ServiceConfig config = wangge::testing::LoopbackConfig("echo", dir_);
  config.metrics_listen = "127.0.0.1:0";
  StartServer(config);
  channel_ = grpc::CreateChannel(chassis_->address(),
                                 grpc::InsecureChannelCredentials());
  ASSERT_TRUE(Call(wangge::testing::DevToken(ROLE_SHIFT_LEADER), "1101").ok());
  ASSERT_EQ(
      Call(wangge::testing::DevToken(ROLE_DISPATCHER), "1101").error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_GT(chassis_->metrics().port(), 0);
  auto body = wangge::testing::HttpGet(chassis_->metrics().port(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  auto sample = [&](const std::string& code) -> std::string {
    for (absl::string_view line : absl::StrSplit(*body, '\n')) {
      if (absl::StartsWith(line, "wangge_rpc_requests_total{") &&
          absl::StrContains(line, R"(method="Echo")") &&
          absl::StrContains(line, absl::StrCat(R"(code=")", code, R"(")"))) {
        return std::string(line.substr(line.rfind(' ') + 1));
      }
    }
    return "absent";
  };
  EXPECT_EQ(sample("OK"), "1") << *body;
  EXPECT_EQ(sample("PERMISSION_DENIED"), "1");
  EXPECT_NE(body->find("wangge_rpc_latency_seconds_count"), std::string::npos);
}

// Production verifies RS256: a method refuses an HS256 token keyed with the
// RS256 public key (the algorithm-confusion attack) and accepts a real one.
TEST_F(ChassisTest, Rs256ServerRefusesHs256SignedWithItsPublicKey) {
  dir_ = wangge::testing::MakeTempDir("rs256");
  ASSERT_EQ(std::system(("openssl genpkey -algorithm RSA -pkeyopt "
                         "rsa_keygen_bits:2048 -out " +
                         dir_ + "/rsa.key 2>/dev/null && openssl pkey -in " +
                         dir_ + "/rsa.key -pubout -out " + dir_ + "/rsa.pub")
                            .c_str()),
            0);
  config::ServiceConfig config = wangge::testing::LoopbackConfig("echo", dir_);
  config.auth.algorithm = "RS256";
  config.auth.key_file = dir_ + "/rsa.pub";
  StartServer(config);
  channel_ = grpc::CreateChannel(chassis_->address(),
                                 grpc::InsecureChannelCredentials());
  auth::Claims claims;
  claims.subject = "staff-1";
  claims.role = ROLE_SHIFT_LEADER;
  claims.audience = "wangge";
  claims.expiry = absl::Now() + absl::Hours(1);
  claims.scopes = {"*"};
  const std::string pub = *ReadFileToString(dir_ + "/rsa.pub");
  const std::string priv = *ReadFileToString(dir_ + "/rsa.key");
  grpc::Status confused = Call(*auth::MintToken(claims, "HS256", pub), "11");
  EXPECT_EQ(confused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(echo_->entered, 0);
  EXPECT_TRUE(Call(*auth::MintToken(claims, "RS256", priv), "11").ok());
}

// A short HS256 secret, or a PEM key read as one (a production config that
// left out --jwt_algorithm), stops the start.
TEST_F(ChassisTest, AWeakOrPemHs256SecretIsRefused) {
  dir_ = wangge::testing::MakeTempDir("weak");
  for (const std::string& secret :
       {std::string("short"),
        std::string("-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0D"
                    "AQcDQgAE\n-----END PUBLIC KEY-----\n")}) {
    config::ServiceConfig config =
        wangge::testing::LoopbackConfig("echo", dir_);
    wangge::testing::WriteFile(config.auth.key_file, secret);
    Chassis chassis(config, Clock::Real());
    EXPECT_EQ(status::ViolatedField(chassis.Init()), "jwt_key_file") << secret;
  }
}

TEST_F(ChassisTest, MethodWithoutPolicyCannotBeRegistered) {
  dir_ = wangge::testing::MakeTempDir("chassis");
  Chassis chassis(wangge::testing::LoopbackConfig("x", dir_), Clock::Real());
  ASSERT_TRUE(chassis.Init().ok());
  wangge::testing::v1::UndeclaredService::CallbackService undeclared;
  absl::Status s =
      chassis.Register<wangge::testing::v1::UndeclaredService>(&undeclared);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("UndeclaredService.Nothing"), std::string::npos);
}

TEST_F(ChassisTest, MutualTlsRefusesMissingAndForeignCertificates) {
  dir_ = wangge::testing::MakeTempDir("mtls");
  auto tls = wangge::testing::MakeTlsFiles(dir_);
  ASSERT_TRUE(tls.ok()) << tls.status();
  config::ServiceConfig config = MutualTlsConfig(*tls);
  config.metrics_listen = "127.0.0.1:0";
  StartServer(config);
  // The loaded certificates' expiry is a metric (the test CA and leaf are
  // valid for two days).
  auto body = wangge::testing::HttpGet(chassis_->metrics().port(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  for (const char* which : {"server", "ca"}) {
    const std::string series = absl::StrCat(
        "wangge_tls_certificate_expiry_timestamp_seconds{certificate=\"", which,
        "\"} ");
    const size_t at = body->find(series);
    ASSERT_NE(at, std::string::npos) << which << "\n" << *body;
    double seconds = 0;
    ASSERT_TRUE(absl::SimpleAtod(
        body->substr(at + series.size(),
                     body->find('\n', at) - at - series.size()),
        &seconds));
    const absl::Duration left = absl::FromUnixSeconds(seconds) - absl::Now();
    EXPECT_GT(left, absl::Hours(47)) << which;
    EXPECT_LT(left, absl::Hours(49)) << which;
  }
  const std::string address = absl::StrCat("localhost:", chassis_->port());
  const std::string token = wangge::testing::DevToken(ROLE_SHIFT_LEADER);

  config::TlsConfig good{false, tls->client_cert, tls->client_key,
                         tls->ca_cert};
  EchoResponse response;
  grpc::Status ok = Call(*MakeChannel(address, good), token, "11", &response);
  EXPECT_TRUE(ok.ok()) << ok.error_message();

  config::TlsConfig no_cert{false, "", "", tls->ca_cert};
  EXPECT_FALSE(
      Call(*MakeChannel(address, no_cert), token, "11", &response).ok());

  config::TlsConfig rogue{false, tls->rogue_client_cert, tls->rogue_client_key,
                          tls->ca_cert};
  EXPECT_FALSE(Call(*MakeChannel(address, rogue), token, "11", &response).ok());

  config::TlsConfig plaintext{true, "", "", ""};
  EXPECT_FALSE(
      Call(*MakeChannel(address, plaintext), token, "11", &response).ok());
  EXPECT_EQ(echo_->entered, 1);
}

// cert-manager renews a certificate in the mounted Secret (kubelet swaps the
// files in one rename of a symlink): connections made after that get the new
// certificate without a restart, and the expiry metric follows what is on disk.
TEST_F(ChassisTest, ARenewedCertificateIsServedWithoutARestart) {
  dir_ = wangge::testing::MakeTempDir("renew");
  auto tls = wangge::testing::MakeTlsFiles(dir_);
  ASSERT_TRUE(tls.ok()) << tls.status();
  ASSERT_EQ(std::system(("cd '" + dir_ +
                         "' && mkdir v1 && cp server.crt v1/tls.crt && "
                         "cp server.key v1/tls.key && cp ca.crt v1/ca.crt && "
                         "ln -s v1 live")
                            .c_str()),
            0);
  config::ServiceConfig config = MutualTlsConfig(*tls);
  config.tls.cert_file = dir_ + "/live/tls.crt";
  config.tls.key_file = dir_ + "/live/tls.key";
  config.tls.ca_file = dir_ + "/live/ca.crt";
  config.tls.refresh = absl::Seconds(1);
  config.metrics_listen = "127.0.0.1:0";
  // Every address, so that one the certificate does not name is reachable.
  config.listen = "0.0.0.0:0";
  StartServer(config);
  const std::string address = absl::StrCat("localhost:", chassis_->port());
  const std::string token = wangge::testing::DevToken(ROLE_SHIFT_LEADER);
  config::TlsConfig client{false, tls->client_cert, tls->client_key,
                           tls->ca_cert};

  // The certificate a fresh connection is served, and the metric's expiry.
  auto served = [&]() -> std::string {
    auto channel = MakeChannel(address, client);
    if (!channel.ok()) return "channel: " + channel.status().ToString();
    auto stub = EchoService::NewStub(*channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    ctx.AddMetadata("authorization", "Bearer " + token);
    EchoRequest request;
    request.set_message("ni hao");
    request.mutable_area()->set_code("11");
    EchoResponse response;
    grpc::Status status = stub->Echo(&ctx, request, &response);
    if (!status.ok()) return "call: " + status.error_message();
    auto pem = ctx.auth_context()->FindPropertyValues("x509_pem_cert");
    return pem.empty() ? "no peer certificate"
                       : std::string(pem[0].data(), pem[0].size());
  };
  auto expiry_left = [&]() -> absl::Duration {
    auto body =
        wangge::testing::HttpGet(chassis_->metrics().port(), "/metrics");
    if (!body.ok()) return absl::InfiniteDuration();
    const std::string series =
        "wangge_tls_certificate_expiry_timestamp_seconds{certificate="
        "\"server\"} ";
    const size_t at = body->find(series);
    if (at == std::string::npos) return absl::InfiniteDuration();
    double seconds = 0;
    if (!absl::SimpleAtod(
            body->substr(at + series.size(),
                         body->find('\n', at) - at - series.size()),
            &seconds)) {
      return absl::InfiniteDuration();
    }
    return absl::FromUnixSeconds(static_cast<int64_t>(seconds)) - absl::Now();
  };
  auto first = wangge::files::ReadFileToString(dir_ + "/v1/tls.crt");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(served(), *first);
  EXPECT_GT(expiry_left(), absl::Hours(47));
  EXPECT_LT(expiry_left(), absl::Hours(49));

  // The name is still checked: an address the certificate does not name
  // is refused.
  EchoResponse response;
  EXPECT_FALSE(
      Call(*MakeChannel(absl::StrCat("127.0.0.2:", chassis_->port()), client),
           token, "11", &response)
          .ok());

  // The renewal: a new key and a five-day certificate from the same CA.
  ASSERT_EQ(
      std::system(
          ("cd '" + dir_ +
           "' && mkdir v2 && cp ca.crt v2/ca.crt && "
           "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
           "-keyout v2/tls.key -out v2/tls.csr -subj /CN=server "
           ">/dev/null 2>&1 && openssl x509 -req -in v2/tls.csr -CA ca.crt "
           "-CAkey ca.key -CAcreateserial -out v2/tls.crt -days 5 "
           "-extfile server.ext >/dev/null 2>&1 && "
           "ln -s v2 live.new && mv -T live.new live")
              .c_str()),
      0);
  auto renewed = wangge::files::ReadFileToString(dir_ + "/v2/tls.crt");
  ASSERT_TRUE(renewed.ok());
  ASSERT_NE(*renewed, *first);
  std::string now_served;
  for (int i = 0; i < 100; ++i) {
    now_served = served();
    if (now_served == *renewed) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(now_served, *renewed);
  EXPECT_GT(expiry_left(), absl::Hours(119));
  EXPECT_LT(expiry_left(), absl::Hours(121));

  // A broken renewal (gRPC then fails new handshakes): the metric reads as
  // long expired, so the expiry alert fires at once.
  ASSERT_EQ(std::system(("cd '" + dir_ +
                         "' && mkdir v3 && cp ca.crt v3/ca.crt && "
                         "echo broken > v3/tls.crt && cp v2/tls.key v3/ && "
                         "ln -s v3 live.new && mv -T live.new live")
                            .c_str()),
            0);
  EXPECT_LT(expiry_left(), -absl::Hours(24 * 365));
}

// Kubelet's probes speak plaintext: with --health_listen a second port
// answers grpc.health.v1 (mirroring the main port's readiness) and nothing
// else, while the main port keeps requiring client certificates.
TEST_F(ChassisTest, PlaintextHealthPortBesideMutualTls) {
  dir_ = wangge::testing::MakeTempDir("health");
  auto tls = wangge::testing::MakeTlsFiles(dir_);
  ASSERT_TRUE(tls.ok()) << tls.status();
  config::ServiceConfig config = MutualTlsConfig(*tls);
  config.health_listen = "127.0.0.1:0";
  StartServer(config);
  ASSERT_GT(chassis_->health_port(), 0);
  auto channel =
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", chassis_->health_port()),
                          grpc::InsecureChannelCredentials());
  auto health = ::grpc::health::v1::Health::NewStub(channel);
  auto check = [&](const std::string& service) {
    grpc::ClientContext ctx;
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status s = health->Check(&ctx, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response.status();
  };
  EXPECT_EQ(check("liveness"), HealthCheckResponse::SERVING);
  EXPECT_EQ(check("readiness"), HealthCheckResponse::NOT_SERVING);
  chassis_->SetReady(true);
  EXPECT_EQ(check("readiness"), HealthCheckResponse::SERVING);
  // Only health: the service's methods are not served here.
  EchoResponse response;
  EXPECT_EQ(Call(channel, wangge::testing::DevToken(ROLE_SHIFT_LEADER), "11",
                 &response)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(echo_->entered, 0);
  chassis_->Shutdown();
  grpc::ClientContext ctx;
  HealthCheckRequest request;
  request.set_service("liveness");
  HealthCheckResponse after;
  EXPECT_FALSE(health->Check(&ctx, request, &after).ok() &&
               after.status() == HealthCheckResponse::SERVING);
}

}  // namespace
}  // namespace wangge::server
