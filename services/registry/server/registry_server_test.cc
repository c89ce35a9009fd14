#include "services/registry/server/registry_server.h"

#include <grpcpp/grpcpp.h>

#include <random>

#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/files/gzip.h"
#include "services/common/status/errors.h"
#include "services/common/status/grpc_status.h"
#include "services/common/testing/test_support.h"
#include "services/registry/app/deployment_json.h"
#include "services/registry/generator/city_generator.h"

namespace wangge::registry {
namespace {

using wangge::common::v1::ROLE_ADMINISTRATOR;
using wangge::common::v1::ROLE_SERVICE_INTAKE;

const absl::Time kT0 =
    absl::FromCivil(absl::CivilDay(2024, 1, 1), absl::UTCTimeZone());

class RegistryServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("registry");
    Start();
  }
  void Start() {
    eventstore::Options o;
    o.service = "registry";
    o.path = dir_ + "/store";
    o.partitions = 4;
    store_ = *eventstore::EventStore::Open(o);
    app_ = std::make_unique<RegistryApp>(store_.get());
    ASSERT_TRUE(app_->Load().ok());
    chassis_ = std::make_unique<server::Chassis>(
        testing::LoopbackConfig("registry", dir_), Clock::Real());
    server_ = std::make_unique<RegistryServer>(chassis_.get(), app_.get(),
                                               store_.get());
    ASSERT_TRUE(chassis_->Init().ok());
    ASSERT_TRUE(chassis_->Register<v1::RegistryService>(server_.get()).ok());
    ASSERT_TRUE(chassis_->Start().ok());
    stub_ = v1::RegistryService::NewStub(grpc::CreateChannel(
        chassis_->address(), grpc::InsecureChannelCredentials()));
  }
  void Stop() {
    stub_.reset();
    chassis_->Shutdown();
    server_.reset();
    chassis_.reset();
    app_.reset();
    store_.reset();
  }
  void TearDown() override {
    if (chassis_) Stop();
  }
  std::unique_ptr<grpc::ClientContext> Ctx(
      common::v1::Role role = ROLE_ADMINISTRATOR) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + testing::DevToken(role));
    return ctx;
  }
  grpc::Status Import(const std::string& id, const std::string& json,
                      v1::ImportDeploymentResponse* response) {
    v1::ImportDeploymentRequest r;
    r.set_request_id(id);
    r.set_deployment_json(json);
    return stub_->ImportDeployment(Ctx().get(), r, response);
  }

  std::string dir_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<RegistryApp> app_;
  std::unique_ptr<server::Chassis> chassis_;
  std::unique_ptr<RegistryServer> server_;
  std::unique_ptr<v1::RegistryService::Stub> stub_;
};

TEST_F(RegistryServerTest, ImportLocateListAndReload) {
  auto city = GenerateCity(DemoChengduSpec(), 21, kT0);
  ASSERT_TRUE(city.ok());
  const std::string json = DeploymentToJson(*city);

  // Invalid: one boundary broken. Nothing is written.
  Deployment broken = *city;
  broken.areas[5].boundary_geojson =
      R"({"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]})";
  v1::ImportDeploymentResponse response;
  grpc::Status bad = Import("bad", DeploymentToJson(broken), &response);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto violations = status::FieldViolations(status::FromGrpcStatus(bad));
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field, "areas[5].boundary");
  for (uint64_t h : store_->Heads()) EXPECT_EQ(h, 0u);
  EXPECT_EQ(Import("x", "{", &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // An administrator of one district may not import (it redraws and staffs
  // any area) nor export the whole deployment.
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata(
        "authorization",
        "Bearer " + testing::DevToken(ROLE_ADMINISTRATOR, {"510104"}));
    v1::ImportDeploymentRequest r;
    r.set_request_id("district");
    r.set_deployment_json(json);
    EXPECT_EQ(status::DeniedRule(status::FromGrpcStatus(
                  stub_->ImportDeployment(&ctx, r, &response))),
              "area_scope");
    grpc::ClientContext ectx;
    ectx.AddMetadata(
        "authorization",
        "Bearer " + testing::DevToken(ROLE_ADMINISTRATOR, {"510104"}));
    v1::ExportDeploymentResponse exported;
    EXPECT_EQ(status::DeniedRule(status::FromGrpcStatus(
                  stub_->ExportDeployment(&ectx, {}, &exported))),
              "area_scope");
  }
  for (uint64_t h : store_->Heads()) EXPECT_EQ(h, 0u);

  ASSERT_TRUE(Import("city-1", json, &response).ok());
  EXPECT_EQ(response.areas(), city->areas.size());
  const auto heads = store_->Heads();
  // A retry is the same import: same positions, nothing written.
  v1::ImportDeploymentResponse again;
  ASSERT_TRUE(Import("city-1", json, &again).ok());
  EXPECT_EQ(store_->Heads(), heads);
  ASSERT_EQ(again.positions_size(), response.positions_size());
  EXPECT_EQ(again.positions(0).sequence(), response.positions(0).sequence());
  EXPECT_EQ(again.SerializeAsString(), response.SerializeAsString());

  // Locate agrees with the brute-force scan; service tokens may call it.
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> ux(104.04, 104.08), uy(30.64, 30.68);
  auto snap = app_->snapshot();
  std::vector<std::tuple<double, double, std::string>> answers;
  int found = 0;
  for (int i = 0; i < 300; ++i) {
    v1::LocatePointRequest r;
    r.mutable_point()->set_longitude(ux(rng));
    r.mutable_point()->set_latitude(uy(rng));
    r.mutable_point()->set_coordinate_system(
        common::v1::COORDINATE_SYSTEM_WGS84);
    v1::Area area;
    grpc::Status s =
        stub_->LocatePoint(Ctx(ROLE_SERVICE_INTAKE).get(), r, &area);
    auto scan = LocateByScan(snap->state, r.point().longitude(),
                             r.point().latitude(), absl::Now());
    ASSERT_EQ(s.ok(), scan.ok());
    if (s.ok()) {
      EXPECT_EQ(area.code(), scan->code);
      answers.emplace_back(r.point().longitude(), r.point().latitude(),
                           area.code());
      ++found;
    }
  }
  EXPECT_GT(found, 50);
  // Before the deployment: nothing; GCJ-02 is intake's to convert.
  v1::LocatePointRequest past;
  past.mutable_point()->set_longitude(std::get<0>(answers[0]));
  past.mutable_point()->set_latitude(std::get<1>(answers[0]));
  *past.mutable_as_of() = wangge::ToProto(kT0 - absl::Hours(1));
  v1::Area area;
  EXPECT_EQ(stub_->LocatePoint(Ctx().get(), past, &area).error_code(),
            grpc::StatusCode::NOT_FOUND);
  past.mutable_point()->set_coordinate_system(
      common::v1::COORDINATE_SYSTEM_GCJ02);
  EXPECT_EQ(stub_->LocatePoint(Ctx().get(), past, &area).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Get and list with paging.
  v1::GetAreaRequest get;
  get.set_code("510101");
  ASSERT_TRUE(stub_->GetArea(Ctx().get(), get, &area).ok());
  EXPECT_EQ(area.level(), "district");
  EXPECT_FALSE(area.boundary_geojson().empty());
  v1::ListAreasRequest list;
  list.set_parent_code("510101");
  list.set_page_size(1);
  v1::ListAreasResponse page1, page2;
  ASSERT_TRUE(stub_->ListAreas(Ctx().get(), list, &page1).ok());
  ASSERT_EQ(page1.areas_size(), 1);
  ASSERT_FALSE(page1.next_page_token().empty());
  list.set_page_token(page1.next_page_token());
  ASSERT_TRUE(stub_->ListAreas(Ctx().get(), list, &page2).ok());
  ASSERT_EQ(page2.areas_size(), 1);
  EXPECT_GT(page2.areas(0).code(), page1.areas(0).code());

  // A restart rebuilds the same state from the store.
  const auto digest = *store_->ProjectionDigest(kAreasProjection);
  Stop();
  Start();
  EXPECT_EQ(app_->snapshot()->state.areas.size(), city->areas.size());
  EXPECT_EQ(*store_->ProjectionDigest(kAreasProjection), digest);
  for (const auto& [x, y, code] : answers) {
    v1::LocatePointRequest r;
    r.mutable_point()->set_longitude(x);
    r.mutable_point()->set_latitude(y);
    v1::Area located;
    ASSERT_TRUE(stub_->LocatePoint(Ctx().get(), r, &located).ok());
    EXPECT_EQ(located.code(), code);
  }
}

// A deployment too large for a request as JSON travels gzipped (the CLI
// always sends it so): the same import, inflated only for a caller allowed
// to import, and a broken or doubled payload changes nothing.
TEST_F(RegistryServerTest, AGzippedDeploymentIsTheSameImport) {
  auto demo = GenerateDemo(1, absl::FromUnixSeconds(1704067200));
  ASSERT_TRUE(demo.ok());
  const std::string json = DeploymentToJson(*demo);
  const auto call = [&](const std::string& id, const std::string& plain,
                        const std::string& packed,
                        v1::ImportDeploymentResponse* response,
                        std::vector<std::string> scope = {"*"}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization",
                    "Bearer " + testing::DevToken(ROLE_ADMINISTRATOR, scope));
    v1::ImportDeploymentRequest r;
    r.set_request_id(id);
    r.set_deployment_json(plain);
    r.set_deployment_json_gzip(packed);
    return status::FromGrpcStatus(stub_->ImportDeployment(&ctx, r, response));
  };
  v1::ImportDeploymentResponse response;
  const std::string packed = *files::Gzip(json);
  EXPECT_EQ(status::ViolatedField(call("both", json, packed, &response)),
            "deployment_json");
  EXPECT_EQ(status::ViolatedField(call("neither", "", "", &response)),
            "deployment_json");
  std::string broken = packed;
  broken[broken.size() / 2] ^= 0x5a;
  EXPECT_EQ(status::ViolatedField(call("broken", "", broken, &response)),
            "deployment_json_gzip");
  // Inflated only once the caller may import: a district's administrator
  // is refused before the payload is looked at (inflated first, the broken
  // payload would be refused naming deployment_json_gzip instead).
  EXPECT_EQ(
      status::DeniedRule(call("district", "", broken, &response, {"510104"})),
      "area_scope");
  for (uint64_t h : store_->Heads()) EXPECT_EQ(h, 0u);

  ASSERT_TRUE(call("demo", "", packed, &response).ok());
  EXPECT_EQ(response.areas(), demo->areas.size());
  EXPECT_GT(response.staff() + response.areas(), 0u);
  // The same request id with the plain JSON: the first answer, nothing new.
  const auto heads = store_->Heads();
  v1::ImportDeploymentResponse again;
  ASSERT_TRUE(call("demo", json, "", &again).ok());
  EXPECT_EQ(store_->Heads(), heads);
  EXPECT_EQ(again.SerializeAsString(), response.SerializeAsString());
}

TEST_F(RegistryServerTest, WatchSeesChangesAndExportReimportsTheSame) {
  // A watcher from the start.
  grpc::ClientContext watch_ctx;
  watch_ctx.AddMetadata(
      "authorization",
      "Bearer " + testing::DevToken(common::v1::ROLE_SERVICE_DISPATCH));
  v1::WatchChangesRequest from_start;
  for (int p = 0; p < 4; ++p) {
    auto* pos = from_start.add_after();
    pos->set_partition(p);
    pos->set_sequence(0);
  }
  auto watch = stub_->WatchChanges(&watch_ctx, from_start);
  // And a channel (a public app's gateway), which may not read staff.
  grpc::ClientContext channel_ctx;
  channel_ctx.AddMetadata(
      "authorization",
      "Bearer " + testing::DevToken(common::v1::ROLE_CHANNEL, {"*"},
                                    "app-gateway", "", "app"));
  auto channel_watch = stub_->WatchChanges(&channel_ctx, from_start);
  // And one district's administrator: the watch is not filtered by area,
  // so staff elsewhere is not theirs to read either.
  grpc::ClientContext district_ctx;
  district_ctx.AddMetadata(
      "authorization",
      "Bearer " + testing::DevToken(ROLE_ADMINISTRATOR, {"510104"}));
  auto district_watch = stub_->WatchChanges(&district_ctx, from_start);

  auto demo = GenerateDemo(5, kT0);
  ASSERT_TRUE(demo.ok());
  v1::ImportDeploymentResponse imported;
  ASSERT_TRUE(Import("demo", DeploymentToJson(*demo), &imported).ok());
  const size_t expected =
      1 + demo->areas.size() + 1 + demo->components.size() + demo->staff.size();
  std::map<std::string, int> by_type;
  v1::RegistryChange change;
  for (size_t i = 0; i < expected && watch->Read(&change); ++i) {
    ++by_type[change.event_type()];
    EXPECT_FALSE(change.event_json().empty());
  }
  EXPECT_EQ(by_type["wangge.registry.v1.AreaCreated"],
            static_cast<int>(demo->areas.size()));
  EXPECT_EQ(by_type["wangge.registry.v1.PolicyPublished"], 1);
  EXPECT_EQ(by_type["wangge.registry.v1.StaffAssigned"],
            static_cast<int>(demo->staff.size()));
  watch_ctx.TryCancel();
  watch->Finish();
  // The channel hears every change, but a post's holder (name, areas) only
  // by its type, stream and position.
  std::map<std::string, int> channel_by_type;
  for (size_t i = 0; i < expected && channel_watch->Read(&change); ++i) {
    ++channel_by_type[change.event_type()];
    const bool staff =
        change.event_type() == "wangge.registry.v1.StaffAssigned";
    EXPECT_EQ(change.event_json().empty(), staff) << change.event_type();
    EXPECT_FALSE(change.stream_id().empty());
  }
  EXPECT_EQ(channel_by_type, by_type);
  channel_ctx.TryCancel();
  channel_watch->Finish();
  int district_staff = 0;
  for (size_t i = 0; i < expected && district_watch->Read(&change); ++i) {
    if (change.event_type() != "wangge.registry.v1.StaffAssigned") continue;
    ++district_staff;
    EXPECT_TRUE(change.event_json().empty());
  }
  EXPECT_EQ(district_staff, static_cast<int>(demo->staff.size()));
  district_ctx.TryCancel();
  district_watch->Finish();

  // Export as of now, import into a fresh registry: the same answers.
  v1::ExportDeploymentRequest req;
  v1::ExportDeploymentResponse exported;
  ASSERT_TRUE(stub_->ExportDeployment(Ctx().get(), req, &exported).ok());
  EXPECT_EQ(exported.areas(), demo->areas.size());
  EXPECT_TRUE(exported.deployment_json_gzip().empty());
  // Gzipped on request (what the CLI asks for): the same JSON.
  req.set_gzip(true);
  v1::ExportDeploymentResponse packed;
  ASSERT_TRUE(stub_->ExportDeployment(Ctx().get(), req, &packed).ok());
  EXPECT_TRUE(packed.deployment_json().empty());
  EXPECT_LT(packed.deployment_json_gzip().size(),
            exported.deployment_json().size() / 2);
  EXPECT_EQ(*files::Gunzip(packed.deployment_json_gzip(), 1 << 30),
            exported.deployment_json());
  const auto before = app_->snapshot();
  Stop();
  dir_ = testing::MakeTempDir("registry-copy");
  Start();
  ASSERT_TRUE(Import("copy", exported.deployment_json(), &imported).ok());
  const auto after = app_->snapshot();
  ASSERT_EQ(after->state.areas.size(), before->state.areas.size());
  int located = 0;
  for (double x = 104.04; x < 104.08; x += 0.004) {
    for (double y = 30.64; y < 30.68; y += 0.004) {
      auto a = before->index->Locate(x, y, absl::Now());
      auto b = after->index->Locate(x, y, absl::Now());
      ASSERT_EQ(a.ok(), b.ok());
      if (a.ok()) {
        EXPECT_EQ(a->code, b->code);
        ++located;
      }
    }
  }
  EXPECT_GT(located, 50);  // the grid of points lies in the demo district
  EXPECT_EQ(after->state.policies.size(), 1u);
  EXPECT_EQ(after->state.components.size(), demo->components.size());
}

TEST_F(RegistryServerTest, ResolvesDepartmentsAndListsStaff) {
  auto demo = GenerateDemo(3, kT0);
  ASSERT_TRUE(demo.ok());
  v1::ImportDeploymentResponse imported;
  grpc::Status s = Import("demo", DeploymentToJson(*demo), &imported);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(imported.policy_version(),
            std::to_string(1 + demo->areas.size() + 1 +
                           demo->components.size() + demo->staff.size()));
  auto resolve = [&](const std::string& category, const std::string& area,
                     v1::ResolveDepartmentResponse* r) {
    v1::ResolveDepartmentRequest req;
    req.set_category_code(category);
    req.set_area_code(area);
    return stub_->ResolveDepartment(
        Ctx(common::v1::ROLE_SERVICE_DISPATCH).get(), req, r);
  };
  // A unit grid of the Dongcheng-style district.
  std::string unit_grid;
  for (const auto& a : demo->areas) {
    if (a.level == "unit_grid" && unit_grid.empty()) unit_grid = a.code;
  }
  v1::ResolveDepartmentResponse r;
  ASSERT_TRUE(resolve("event/01/0102", unit_grid, &r).ok());
  EXPECT_EQ(r.department(), "sanitation-110101");
  EXPECT_FALSE(r.locality_fallback());
  EXPECT_EQ(r.policy_version(), "demo-2024.1");
  // Illegal parking is routed to urban management in this district.
  ASSERT_TRUE(resolve("event/05/0505", unit_grid, &r).ok());
  EXPECT_EQ(r.department(), "urban_management-110101");
  // Unknown class: INVALID_ARGUMENT naming the field.
  EXPECT_EQ(resolve("event/09/0999", unit_grid, &r).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // A component routes to its owner.
  v1::ResolveDepartmentRequest by_component;
  by_component.set_component_id(demo->components[0].component_id());
  ASSERT_TRUE(stub_->ResolveDepartment(Ctx().get(), by_component, &r).ok());
  EXPECT_EQ(r.department(), demo->components[0].owner_department());

  v1::ListStaffRequest staff;
  staff.set_area_code(unit_grid);
  staff.set_role("grid_worker");
  v1::ListStaffResponse workers;
  ASSERT_TRUE(stub_->ListStaff(Ctx().get(), staff, &workers).ok());
  ASSERT_EQ(workers.staff_size(), 1);
  EXPECT_EQ(workers.staff(0).staff_id(), "grid-worker-" + unit_grid);
  staff.set_role("supervisor");
  ASSERT_TRUE(stub_->ListStaff(Ctx().get(), staff, &workers).ok());
  ASSERT_EQ(workers.staff_size(), 1);  // the community's supervisor covers it
  EXPECT_EQ(workers.staff(0).staff_id(),
            "supervisor-" + unit_grid.substr(0, 12));
}

}  // namespace
}  // namespace wangge::registry
