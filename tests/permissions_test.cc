// Walks every Wangge service descriptor: each method declares a permission,
// a caller whose role is outside it gets PERMISSION_DENIED without the
// handler being entered, and a caller inside it gets past the guard.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/eventlog/eventlog_service.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/server/chassis.h"
#include "services/common/testing/test_support.h"
#include "services/dispatch/server/dispatch_server.h"
#include "services/intake/server/intake_server.h"
#include "services/oversight/server/oversight_server.h"
#include "services/registry/server/registry_server.h"
#include "services/supervision/server/supervision_server.h"

namespace wangge {
namespace {

using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;
using wangge::common::v1::Role;

// One call with an empty request through a generic stub (works for unary
// and server-streaming methods alike); returns the final status.
grpc::Status CallEmpty(const std::shared_ptr<grpc::Channel>& channel,
                       const MethodDescriptor* method,
                       const std::string& token) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  const std::string path =
      absl::StrCat("/", method->service()->full_name(), "/", method->name());
  auto call = stub.PrepareCall(&ctx, path, &cq);
  void* tag;
  bool ok;
  call->StartCall(reinterpret_cast<void*>(1));
  cq.Next(&tag, &ok);
  grpc::ByteBuffer empty;
  grpc::Slice slice("");
  empty = grpc::ByteBuffer(&slice, 1);
  call->WriteLast(empty, grpc::WriteOptions(), reinterpret_cast<void*>(2));
  cq.Next(&tag, &ok);
  grpc::ByteBuffer in;
  // Read until the server ends the stream (streaming methods may send some).
  while (true) {
    call->Read(&in, reinterpret_cast<void*>(3));
    cq.Next(&tag, &ok);
    if (!ok) break;
  }
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  cq.Next(&tag, &ok);
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return status;
}

struct ServiceUnderTest {
  std::string name;
  const ServiceDescriptor* descriptor;
  std::function<std::shared_ptr<grpc::Service>(server::Chassis*,
                                               eventstore::EventStore*)>
      make;
};

template <typename Impl>
std::function<std::shared_ptr<grpc::Service>(server::Chassis*,
                                             eventstore::EventStore*)>
Make() {
  return [](server::Chassis* c, eventstore::EventStore*) {
    return std::make_shared<Impl>(c);
  };
}

const ServiceDescriptor* Find(const std::string& name) {
  return google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      name);
}

class PermissionsTest : public ::testing::TestWithParam<ServiceUnderTest> {};

TEST_P(PermissionsTest, EveryMethodDeclaresAndEnforcesItsRoles) {
  const ServiceUnderTest& svc = GetParam();
  ASSERT_NE(svc.descriptor, nullptr) << svc.name;
  const std::string dir = testing::MakeTempDir("perm");
  server::Chassis chassis(testing::LoopbackConfig(svc.name, dir),
                          Clock::Real());
  ASSERT_TRUE(chassis.Init().ok());
  eventstore::Options options;
  options.service = svc.name;
  options.path = dir + "/store";
  options.partitions = 2;
  auto store = eventstore::EventStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto impl = svc.make(&chassis, store->get());
  ASSERT_TRUE(chassis.RegisterService(impl.get(), svc.descriptor).ok());
  ASSERT_TRUE(chassis.Start().ok());
  auto channel = grpc::CreateChannel(chassis.address(),
                                     grpc::InsecureChannelCredentials());

  ASSERT_GT(svc.descriptor->method_count(), 0);
  for (int i = 0; i < svc.descriptor->method_count(); ++i) {
    const MethodDescriptor* m = svc.descriptor->method(i);
    SCOPED_TRACE(m->full_name());
    const auto& policy = m->options().GetExtension(common::v1::policy);
    ASSERT_GT(policy.roles_size(), 0) << "no declared permission";

    // Every role the policy leaves out is refused before the handler.
    for (int r = 1; r < common::v1::Role_descriptor()->value_count(); ++r) {
      Role role =
          static_cast<Role>(common::v1::Role_descriptor()->value(r)->number());
      if (std::find(policy.roles().begin(), policy.roles().end(), role) !=
          policy.roles().end()) {
        continue;
      }
      grpc::Status s = CallEmpty(
          channel, m, testing::DevToken(role, {"*"}, "u", "dept-x", "12345"));
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << common::v1::Role_Name(role) << ": " << s.error_message();
    }
    EXPECT_EQ(chassis.handler_entries(m->full_name()), 0u);

    // An allowed role gets past the guard into the handler.
    grpc::Status allowed = CallEmpty(
        channel, m,
        testing::DevToken(policy.roles(0), {"*"}, "u", "dept-x", "12345"));
    EXPECT_NE(allowed.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << allowed.error_message();
    EXPECT_NE(allowed.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(chassis.handler_entries(m->full_name()), 1u);
  }
  chassis.Shutdown();
}

INSTANTIATE_TEST_SUITE_P(
    AllServices, PermissionsTest,
    ::testing::Values(
        ServiceUnderTest{"intake", Find("wangge.intake.v1.IntakeService"),
                         Make<intake::IntakeServer>()},
        ServiceUnderTest{"supervision",
                         Find("wangge.supervision.v1.SupervisionService"),
                         Make<supervision::SupervisionServer>()},
        ServiceUnderTest{"dispatch", Find("wangge.dispatch.v1.DispatchService"),
                         Make<dispatch::DispatchServer>()},
        ServiceUnderTest{"oversight",
                         Find("wangge.oversight.v1.OversightService"),
                         Make<oversight::OversightServer>()},
        ServiceUnderTest{"registry", Find("wangge.registry.v1.RegistryService"),
                         Make<registry::RegistryServer>()},
        ServiceUnderTest{"eventlog", Find("wangge.common.v1.EventLog"),
                         [](server::Chassis* c, eventstore::EventStore* store) {
                           return std::make_shared<eventlog::EventLogService>(
                               c, store, std::vector<std::string>{});
                         }}),
    [](const ::testing::TestParamInfo<ServiceUnderTest>& info) {
      return info.param.name;
    });

}  // namespace
}  // namespace wangge
