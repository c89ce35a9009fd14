#include "services/audit/timeline.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "services/common/clock/proto_time.h"
#include "services/common/eventstore/event_store.h"
#include "wangge/intake/v1/events.pb.h"

namespace wangge::audit {
namespace {

common::v1::StoredEvent Stored(const google::protobuf::Message& payload,
                               const std::string& stream, uint64_t sequence,
                               int64_t recorded_seconds,
                               const std::string& subject,
                               const std::string& correlation = "") {
  common::v1::EventEnvelope env;
  env.set_event_type(payload.GetDescriptor()->full_name());
  env.set_stream_id(stream);
  env.set_sequence(sequence);
  env.set_correlation_id(correlation);
  *env.mutable_recorded_time() =
      ToProto(absl::FromUnixSeconds(recorded_seconds));
  env.mutable_actor()->set_subject(subject);
  env.mutable_actor()->set_role(common::v1::ROLE_CHANNEL);
  env.mutable_payload()->PackFrom(payload);
  common::v1::StoredEvent stored;
  stored.set_record(env.SerializeAsString());
  return stored;
}

TEST(TimelineTest, CollectsOneCaseAcrossServicesInRecordedOrder) {
  const std::string id = "C20261122-0-000007";
  intake::v1::ReportReceived received;
  received.set_case_id(id);
  received.set_description("井盖缺失");
  intake::v1::ReportReceived other;
  other.set_case_id("C20261122-0-000008");
  intake::v1::ReporterContactRevealed revealed;
  revealed.set_case_id(id);

  CaseTimeline t(id);
  // Added out of order, from two partitions and by different paths.
  t.Add("intake", 1, Stored(revealed, "case/" + id, 9, 200, "supervisor-3"));
  t.Add("intake", 0, Stored(other, "case/C20261122-0-000008", 4, 150, "12345"));
  t.Add("intake", 0, Stored(received, "case/" + id, 3, 100, "12345"));
  // Another service's stream naming the case in its payload.
  t.Add("dispatch", 2, Stored(revealed, "task/T1", 5, 300, "command-centre"));
  // Correlated only.
  t.Add("supervision", 0, Stored(other, "audit/x", 6, 250, "sup", id));
  common::v1::StoredEvent garbage;
  garbage.set_record("\xff\xff");
  t.Add("intake", 0, garbage);

  const auto entries = t.Finish();
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].event_type, "wangge.intake.v1.ReportReceived");
  EXPECT_EQ(entries[0].sequence, 3u);
  EXPECT_EQ(entries[1].event_type, "wangge.intake.v1.ReporterContactRevealed");
  EXPECT_EQ(entries[1].actor.subject(), "supervisor-3");
  EXPECT_EQ(entries[2].service, "supervision");
  EXPECT_EQ(entries[3].service, "dispatch");

  const std::string text = TimelineText(entries);
  EXPECT_NE(text.find("intake/0#3  wangge.intake.v1.ReportReceived  by 12345 "
                      "(ROLE_CHANNEL)"),
            std::string::npos)
      << text;
  const std::string json = TimelineJson(entries);
  EXPECT_NE(json.find("井盖缺失"), std::string::npos) << json;
}

TEST(TimelineTest, UnknownCaseIsEmpty) {
  CaseTimeline t("C20261122-0-999999");
  intake::v1::ReportReceived received;
  received.set_case_id("C20261122-0-000001");
  t.Add("intake", 0, Stored(received, "case/C20261122-0-000001", 1, 1, "x"));
  EXPECT_TRUE(t.Finish().empty());
  EXPECT_EQ(TimelineText({}), "");
}

}  // namespace
}  // namespace wangge::audit
