#include "services/intake/app/intake_app.h"

#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/testing/test_support.h"
#include "services/registry/generator/city_generator.h"

namespace wangge::intake {
namespace {

const absl::Time kT0 = absl::FromCivil(absl::CivilDay(2024, 1, 1), absl::UTCTimeZone());

class IntakeAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("intake");
    Open();
    // The registry's events, as the consumer would deliver them.
    auto d = registry::GenerateDemo(1, kT0);
    ASSERT_TRUE(d.ok());
    registry::RegistryState scratch;
    auto events = registry::DecideImport(scratch, *d);
    ASSERT_TRUE(events.ok());
    uint64_t seq = 0;
    for (const auto& e : *events) {
      common::v1::EventEnvelope env;
      env.set_event_type(registry::PayloadOf(e).GetDescriptor()->full_name());
      env.set_stream_id(registry::StreamOf(e));
      env.set_partition(0);
      env.set_sequence(++seq);
      env.mutable_payload()->set_value(registry::PayloadOf(e).SerializeAsString());
      auto effects = app_->RegistryEffects(env);
      ASSERT_TRUE(effects.ok());
      ASSERT_TRUE(store_->Append(*effects).ok());
      app_->OnRegistryApplied(env);
    }
    ASSERT_EQ(app_->known_areas(), d->areas.size());
  }
  void Open() {
    eventstore::Options o;
    o.service = "intake";
    o.path = dir_ + "/store";
    o.partitions = 4;
    store_ = *eventstore::EventStore::Open(o);
    app_ = std::make_unique<IntakeApp>(store_.get(), &clock_);
    ASSERT_TRUE(app_->Load().ok());
  }
  v1::ReportCaseRequest Request(const std::string& id) {
    v1::ReportCaseRequest r;
    r.set_request_id(id);
    r.set_category_code("component/01/0101");
    r.set_description("上水井盖缺失 missing water-supply cover");
    auto* p = r.mutable_location()->mutable_point();
    p->set_longitude(104.06);
    p->set_latitude(30.66);
    p->set_coordinate_system(common::v1::COORDINATE_SYSTEM_WGS84);
    return r;
  }
  common::v1::Actor Hotline() {
    common::v1::Actor a;
    a.set_subject("12345-system");
    a.set_role(common::v1::ROLE_CHANNEL);
    a.set_channel("12345");
    return a;
  }

  std::string dir_;
  FakeClock clock_{kT0 + absl::Hours(24 * 200)};
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<IntakeApp> app_;
};

TEST_F(IntakeAppTest, ReportMintsACaseAndARetryIsTheSameCase) {
  auto first = app_->ReportCase(Hotline(), Request("r-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->case_id().substr(0, 9), "C20240719");
  EXPECT_FALSE(first->area_code().empty());
  const auto heads = store_->Heads();
  auto retry = app_->ReportCase(Hotline(), Request("r-1"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->case_id(), first->case_id());
  EXPECT_EQ(retry->area_code(), first->area_code());
  EXPECT_EQ(store_->Heads(), heads);
  // Another request id is another case.
  auto second = app_->ReportCase(Hotline(), Request("r-2"));
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->case_id(), first->case_id());
  // The stored event and the report view.
  auto events = store_->ReadStream("case/" + first->case_id());
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  auto env = store_->Decode((*events)[0]);
  EXPECT_EQ(env->event_type(), "wangge.intake.v1.ReportReceived");
  EXPECT_EQ(env->actor().channel(), "12345");
  auto report = app_->GetReport(first->case_id());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->source(), "REPORT_SOURCE_HOTLINE_12345");
  EXPECT_EQ(app_->GetReport("C0-NOPE").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(IntakeAppTest, InvalidReportWritesNothing) {
  v1::ReportCaseRequest bad = Request("r-bad");
  bad.clear_description();
  const auto heads = store_->Heads();
  EXPECT_EQ(app_->ReportCase(Hotline(), bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Heads(), heads);
  // The failed attempt did not burn its request id.
  bad.set_description("now complete");
  EXPECT_TRUE(app_->ReportCase(Hotline(), bad).ok());
}

TEST_F(IntakeAppTest, RegistryCopySurvivesRestart) {
  auto before = app_->ReportCase(Hotline(), Request("r-1"));
  ASSERT_TRUE(before.ok());
  const size_t areas = app_->known_areas();
  app_.reset();
  store_.reset();
  Open();
  EXPECT_EQ(app_->known_areas(), areas);
  auto after = app_->ReportCase(Hotline(), Request("r-9"));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->area_code(), before->area_code());
}

}  // namespace
}  // namespace wangge::intake
