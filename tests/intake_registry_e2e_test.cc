// End to end, separate processes: the dev broker, the registry and intake.
// The registry imports the demo deployment; intake learns it through Kafka
// (the registry's topic) and locates reports against it. Intake is killed
// with SIGKILL and restarted: a retried report is the same case, and intake
// still knows the areas from its own store.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/audit/export_format.h"
#include "services/common/testing/subprocess.h"
#include "services/common/testing/test_support.h"
#include "services/registry/app/deployment_json.h"
#include "services/registry/generator/city_generator.h"
#include "tests/stack.h"
#include "wangge/intake/v1/intake.grpc.pb.h"
#include "wangge/registry/v1/registry.grpc.pb.h"

namespace wangge {
namespace {

using common::v1::ROLE_ADMINISTRATOR;
using common::v1::ROLE_CHANNEL;

class IntakeRegistryE2eTest : public ::testing::Test {
 protected:
  std::map<std::string, std::string> Env(const std::string& service) {
    return {{"LISTEN", "127.0.0.1:0"},
            {"METRICS_LISTEN", ""},
            {"PLAINTEXT", "true"},
            {"DATA_DIR", dir_ + "/" + service},
            {"JWT_KEY_FILE", dir_ + "/jwt.key"},
            {"PARTITIONS", "4"},
            {"LOG_LEVEL", "warning"},
            {"KAFKA_BOOTSTRAP_FILE", dir_ + "/kafka.bootstrap"},
            {"CHECKPOINT_EVERY", "200ms"}};
  }
  // The dev broker, and the key the services' tokens are signed with.
  void StartBroker(testing::Subprocess* broker) {
    testing::WriteFile(dir_ + "/jwt.key", testing::kDevSecret);
    ASSERT_TRUE(broker
                    ->Start({"services/devbroker/devbroker",
                             "--bootstrap_file=" + dir_ + "/kafka.bootstrap",
                             "--partitions=4"})
                    .ok());
    ASSERT_TRUE(broker->WaitForLine("bootstrap ", absl::Seconds(30)).ok());
  }
  std::string Start(testing::Subprocess* p, const std::string& service,
                    std::map<std::string, std::string> extra = {}) {
    auto env = Env(service);
    for (auto& [k, v] : extra) env[k] = v;
    EXPECT_TRUE(p->Start({"services/" + service + "/" + service}, env).ok());
    auto address = p->WaitForLine("listening ", absl::Seconds(60));
    EXPECT_TRUE(address.ok()) << service << ": " << address.status();
    return address.ok() ? *address : "";
  }
  grpc::Status Report(const std::string& intake_addr, const std::string& id,
                      intake::v1::ReportCaseResponse* response) {
    auto stub = intake::v1::IntakeService::NewStub(
        grpc::CreateChannel(intake_addr, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization",
                    "Bearer " + testing::DevToken(ROLE_CHANNEL));
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    intake::v1::ReportCaseRequest r;
    r.set_request_id(id);
    r.set_category_code("event/01/0102");
    r.set_description("暴露垃圾 exposed rubbish");
    auto* p = r.mutable_location()->mutable_point();
    p->set_longitude(116.41);
    p->set_latitude(39.93);
    p->set_coordinate_system(common::v1::COORDINATE_SYSTEM_WGS84);
    return stub->ReportCase(&ctx, r, response);
  }

  std::string dir_ = testing::MakeTempDir("e2e");
};

TEST_F(IntakeRegistryE2eTest,
       ReportsAreLocatedAgainstTheRegistryFollowedThroughKafka) {
  testing::Subprocess broker, registry_process, intake_process;
  StartBroker(&broker);
  if (HasFatalFailure()) return;
  const std::string registry_addr = Start(&registry_process, "registry");
  const std::string intake_addr =
      Start(&intake_process, "intake", {{"REGISTRY_ADDR", registry_addr}});

  // Import the demo deployment into the registry.
  testing::ImportDemoInto(registry_addr);
  if (HasFatalFailure()) return;

  // Intake turns ready once it has caught up with the registry.
  {
    auto health = ::grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(intake_addr, grpc::InsecureChannelCredentials()));
    bool ready = false;
    for (int i = 0; i < 300 && !ready; ++i) {
      grpc::ClientContext hctx;
      ::grpc::health::v1::HealthCheckRequest hreq;
      hreq.set_service("readiness");
      ::grpc::health::v1::HealthCheckResponse hresp;
      ready =
          health->Check(&hctx, hreq, &hresp).ok() &&
          hresp.status() == ::grpc::health::v1::HealthCheckResponse::SERVING;
      if (!ready) absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_TRUE(ready) << "intake never became ready";
  }
  // Intake knows the areas once the registry's events reach it.
  intake::v1::ReportCaseResponse first;
  grpc::Status s;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  do {
    s = Report(intake_addr, "hotline-0001", &first);
    if (s.ok()) break;
    ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << s.error_message();
    absl::SleepFor(absl::Milliseconds(100));
  } while (absl::Now() < deadline);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(first.area_code().substr(0, 6),
            "110101");                       // the Dongcheng-style district
  EXPECT_EQ(first.area_code().size(), 15u);  // a unit grid

  // The broker goes down: intake keeps accepting reports (the store is the
  // outbox); when the broker returns, the event reaches the topic.
  broker.Signal(SIGUSR1);
  absl::SleepFor(absl::Milliseconds(200));
  intake::v1::ReportCaseResponse during_outage;
  s = Report(intake_addr, "hotline-outage", &during_outage);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string bootstrap_file = dir_ + "/kafka.bootstrap";
  // The outage was real: an outside client gets no metadata meanwhile.
  EXPECT_NE(
      std::system(absl::StrCat("timeout 10 kcat -b $(cat ", bootstrap_file,
                               ") -L -m 2 >/dev/null 2>&1")
                      .c_str()),
      0);
  broker.Signal(SIGUSR2);
  bool arrived = false;
  for (int i = 0; i < 60 && !arrived; ++i) {
    const std::string cmd = absl::StrCat(
        "kcat -b $(cat ", bootstrap_file, ") -C -t wangge.intake.events -e -q ",
        "-f '%k\\n' 2>/dev/null | grep -c 'case/", during_outage.case_id(),
        "'");
    FILE* p = popen(cmd.c_str(), "r");
    int count = 0;
    if (fscanf(p, "%d", &count) != 1) count = 0;
    pclose(p);
    arrived = count >= 1;
    if (!arrived) absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_TRUE(arrived)
      << "the report made during the outage never reached Kafka";

  // SIGKILL intake and start it again on its data.
  intake_process.Signal(SIGKILL);
  ASSERT_TRUE(intake_process.Wait(absl::Seconds(10)).ok());
  testing::Subprocess restarted;
  const std::string intake_addr2 =
      Start(&restarted, "intake", {{"REGISTRY_ADDR", registry_addr}});
  intake::v1::ReportCaseResponse retry, another;
  s = Report(intake_addr2, "hotline-0001", &retry);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(retry.case_id(), first.case_id());
  s = Report(intake_addr2, "hotline-0002", &another);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NE(another.case_id(), first.case_id());
  EXPECT_EQ(another.area_code(), first.area_code());

  // The command line, as a user would run it.
  auto wangge = [&](std::vector<std::string> args) -> std::string {
    args.insert(args.begin(), "services/cli/wangge");
    args.push_back("--key_file=" + dir_ + "/jwt.key");
    testing::ToolRun run = testing::RunTool(args, absl::Seconds(20));
    EXPECT_EQ(run.code, 0) << run.output;
    return run.output;
  };

  EXPECT_NE(wangge({"registry", "locate", "116.41", "39.93",
                    "--addr=" + registry_addr})
                .find(first.area_code()),
            std::string::npos);
  EXPECT_NE(wangge({"registry", "resolve", "event/05/0505", first.area_code(),
                    "--addr=" + registry_addr})
                .find("urban_management-110101"),
            std::string::npos);
  const std::string reported =
      wangge({"report", "116.41", "39.93", "--description=井盖缺失",
              "--addr=" + intake_addr2});
  EXPECT_NE(reported.find("case C"), std::string::npos) << reported;
  EXPECT_NE(reported.find(first.area_code()), std::string::npos) << reported;

  // The auditor verifies both services' complete history from their
  // ReadLog, against the checkpoint keys they published, then an export.
  auto audit = [&](std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), "services/audit/audit");
    args.push_back("--key_file=" + dir_ + "/jwt.key");
    testing::ToolRun run = testing::RunTool(args);
    *out += run.output;
    return run.code;
  };

  const std::string sources =
      absl::StrCat("--addr=intake=", intake_addr2, ",registry=", registry_addr);
  const std::string keys =
      absl::StrCat("--public_keys=intake=", dir_,
                   "/intake/signing-key.pub.pem,registry=", dir_,
                   "/registry/signing-key.pub.pem");
  std::string report;
  EXPECT_EQ(audit({"verify", sources, keys}, &report), 0) << report;
  EXPECT_NE(report.find("\"ok\": true"), std::string::npos) << report;
  std::string exported;
  EXPECT_EQ(audit({"export", sources}, &exported), 0);
  EXPECT_NE(exported.find("wangge.intake.v1.ReportReceived"),
            std::string::npos);
  testing::WriteFile(dir_ + "/history.jsonl", exported);
  std::string from_export;
  EXPECT_EQ(audit({"verify", "--export_file=" + dir_ + "/history.jsonl", keys},
                  &from_export),
            0)
      << from_export;

  // A receipt for the first report, checked offline; then consistency of a
  // newer checkpoint with one saved earlier.
  std::string receipt;
  EXPECT_EQ(audit({"receipt", "--addr=intake=" + intake_addr2,
                   "--case_id=" + first.case_id()},
                  &receipt),
            0)
      << receipt;
  testing::WriteFile(dir_ + "/receipt.json", receipt);
  std::string checked;
  EXPECT_EQ(
      audit({"check-receipt", "--receipt=" + dir_ + "/receipt.json", keys},
            &checked),
      0)
      << checked;
  EXPECT_NE(checked.find("receipt verifies"), std::string::npos);
  testing::WriteFile(
      dir_ + "/receipt.json",
      receipt.replace(receipt.find("\"record\": \"") + 12, 1, "A"));
  std::string tampered;
  EXPECT_EQ(
      audit({"check-receipt", "--receipt=" + dir_ + "/receipt.json", keys},
            &tampered),
      1)
      << tampered;
  const uint32_t partition = [&] {
    auto at = receipt.find("\"partition\": ");
    return static_cast<uint32_t>(std::stoul(receipt.substr(at + 13)));
  }();
  const std::string consistency_args = absl::StrCat("--partition=", partition);
  std::string first_run, second_run;
  EXPECT_EQ(audit({"consistency", "--addr=intake=" + intake_addr2,
                   consistency_args, "--saved=" + dir_ + "/saved.pb", keys},
                  &first_run),
            0)
      << first_run;
  for (int i = 0; i < 20; ++i) {
    intake::v1::ReportCaseResponse more;
    ASSERT_TRUE(Report(intake_addr2, absl::StrCat("more-", i), &more).ok());
  }
  // Until a checkpoint newer than the saved one is out (every 200 ms): the
  // proof must then span a real extension, not a tree compared with itself.
  unsigned long long latest = 0, saved = 0;
  for (int i = 0; i < 50 && latest <= saved; ++i) {
    absl::SleepFor(absl::Milliseconds(200));
    second_run.clear();
    ASSERT_EQ(audit({"consistency", "--addr=intake=" + intake_addr2,
                     consistency_args, "--saved=" + dir_ + "/saved.pb", keys},
                    &second_run),
              0)
        << second_run;
    const size_t at = second_run.find("consistent: tree ");
    ASSERT_NE(at, std::string::npos) << second_run;
    ASSERT_EQ(std::sscanf(second_run.c_str() + at,
                          "consistent: tree %llu extends the saved tree %llu",
                          &latest, &saved),
              2)
        << second_run;
  }
  EXPECT_GT(latest, saved) << second_run;
  // The saved checkpoint names its log: checked against another partition
  // it is refused, not taken as that partition's anchor.
  std::string other_partition;
  EXPECT_EQ(audit({"consistency", "--addr=intake=" + intake_addr2,
                   absl::StrCat("--partition=", (partition + 1) % 4),
                   "--saved=" + dir_ + "/saved.pb", keys},
                  &other_partition),
            2)
      << other_partition;

  // Replaying both histories through the services' own domain functions
  // rebuilds exactly the state they report.
  std::string replayed;
  EXPECT_EQ(audit({"replay", sources}, &replayed), 0) << replayed;
  EXPECT_NE(replayed.find("\"projection\": \"reports\""), std::string::npos)
      << replayed;
  EXPECT_NE(replayed.find("\"projection\": \"areas\""), std::string::npos)
      << replayed;
  EXPECT_EQ(replayed.find("\"match\": false"), std::string::npos) << replayed;
  // The state at a moment before any report holds no reports; now holds the
  // first one. The first case's timeline shows its report and who made it.
  std::string past, present, timeline;
  EXPECT_EQ(audit({"replay", "--addr=intake=" + intake_addr2,
                   "--as_of=2000-01-01T00:00:00Z"},
                  &past),
            0)
      << past;
  EXPECT_NE(past.find("\"reports\": {}"), std::string::npos) << past;
  EXPECT_EQ(audit({"replay", "--addr=intake=" + intake_addr2,
                   "--as_of=2100-01-01T00:00:00Z"},
                  &present),
            0);
  EXPECT_NE(present.find(first.case_id()), std::string::npos) << present;
  EXPECT_EQ(
      audit({"timeline", sources, "--case_id=" + first.case_id()}, &timeline),
      0)
      << timeline;
  EXPECT_NE(timeline.find("wangge.intake.v1.ReportReceived  by "),
            std::string::npos)
      << timeline;
  EXPECT_EQ(
      audit({"timeline", sources, "--case_id=C20000101-0-000000"}, &timeline),
      1);

  // A fresh export matches the live services event by event; one altered
  // record in it is found at its position.
  std::string fresh, same, differs;
  EXPECT_EQ(audit({"export", sources}, &fresh), 0);
  testing::WriteFile(dir_ + "/fresh.jsonl", fresh);
  EXPECT_EQ(
      audit({"compare", sources, "--export_file=" + dir_ + "/fresh.jsonl"},
            &same),
      0)
      << same;
  EXPECT_NE(same.find("\"differences\": []"), std::string::npos) << same;
  const size_t cut = fresh.find('\n');
  ASSERT_NE(cut, std::string::npos);
  auto first_event = audit::ParseExportLine(fresh.substr(0, cut));
  ASSERT_TRUE(first_event.ok());
  std::string record = first_event->event.record();
  record[record.size() / 2] ^= 0x01;
  first_event->event.set_record(record);
  testing::WriteFile(
      dir_ + "/altered.jsonl",
      audit::ExportLine(first_event->service, first_event->partition,
                        first_event->event) +
          fresh.substr(cut));
  EXPECT_EQ(
      audit({"compare", sources, "--export_file=" + dir_ + "/altered.jsonl"},
            &differs),
      1)
      << differs;
  EXPECT_NE(differs.find("\"what\": \"record differs\""), std::string::npos)
      << differs;
  // The export taken before the last 20 reports is a prefix of the live log.
  std::string older;
  EXPECT_EQ(
      audit({"compare", sources, "--export_file=" + dir_ + "/history.jsonl"},
            &older),
      0)
      << older;
  // At least the 20 reports (plus the checkpoints written meanwhile, which
  // depend on time) are newer than the export, and nothing differs.
  EXPECT_NE(older.find("\"differences\": []"), std::string::npos) << older;
  const size_t at = older.find("\"newer_live_events\": ");
  ASSERT_NE(at, std::string::npos) << older;
  EXPECT_GE(std::atoi(older.c_str() + at + 21), 20) << older;

  for (auto* p : {&restarted, &registry_process, &broker}) {
    p->Signal(SIGTERM);
    auto code = p->Wait(absl::Seconds(30));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 0);
  }
}

}  // namespace
}  // namespace wangge

namespace wangge {
namespace {

// --durability=ack_after_kafka: a report is answered once Kafka confirmed
// it; with the broker down the answer is UNAVAILABLE (the report is kept),
// and the same request id, retried once the broker is back, gets the case
// that was stored, once.
TEST_F(IntakeRegistryE2eTest, AckAfterKafkaAnswersWhatKafkaConfirmed) {
  testing::Subprocess broker, registry_process, intake_process;
  StartBroker(&broker);
  if (HasFatalFailure()) return;
  const std::string registry_addr = Start(&registry_process, "registry");
  const std::string intake_addr = Start(
      &intake_process, "intake",
      {{"REGISTRY_ADDR", registry_addr}, {"DURABILITY", "ack_after_kafka"}});
  testing::ImportDemoInto(registry_addr);
  if (HasFatalFailure()) return;
  // Once intake has the catalogue, a report goes through (Kafka is up).
  intake::v1::ReportCaseResponse first;
  grpc::Status s;
  for (int i = 0; i < 300; ++i) {
    s = Report(intake_addr, "ack-1", &first);
    if (s.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(s.ok()) << s.error_message();
  // A citizen's report with a contact, for the read below.
  intake::v1::ReportCaseResponse with_contact;
  {
    auto stub = intake::v1::IntakeService::NewStub(
        grpc::CreateChannel(intake_addr, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization",
                    "Bearer " + testing::DevToken(ROLE_CHANNEL));
    intake::v1::ReportCaseRequest r;
    r.set_request_id("ack-contact");
    r.set_category_code("event/01/0102");
    r.set_description("暴露垃圾 exposed rubbish");
    auto* p = r.mutable_location()->mutable_point();
    p->set_longitude(116.41);
    p->set_latitude(39.93);
    p->set_coordinate_system(common::v1::COORDINATE_SYSTEM_WGS84);
    r.mutable_reporter()->set_name("张三");
    r.mutable_reporter()->set_phone("13800000000");
    s = stub->ReportCase(&ctx, r, &with_contact);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  broker.Signal(SIGUSR1);
  absl::SleepFor(absl::Milliseconds(200));
  // A contact read is answered while Kafka is down: it only logs its
  // access, and held then retried it would decrypt and log again.
  {
    auto stub = intake::v1::IntakeService::NewStub(
        grpc::CreateChannel(intake_addr, grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.AddMetadata(
        "authorization",
        "Bearer " + testing::DevToken(common::v1::ROLE_FOLLOW_UP_AGENT));
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(3));
    intake::v1::RevealReporterContactRequest r;
    r.set_case_id(with_contact.case_id());
    r.set_purpose("回访 follow-up call");
    intake::v1::ReporterContact contact;
    grpc::Status read = stub->RevealReporterContact(&ctx, r, &contact);
    EXPECT_TRUE(read.ok()) << read.error_message();
    EXPECT_EQ(contact.phone(), "13800000000");
  }
  intake::v1::ReportCaseResponse during;
  s = Report(intake_addr, "ack-2", &during);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  broker.Signal(SIGUSR2);
  intake::v1::ReportCaseResponse after;
  for (int i = 0; i < 120; ++i) {
    s = Report(intake_addr, "ack-2", &after);
    if (s.ok()) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(after.case_id().empty());
  intake::v1::ReportCaseResponse again;
  ASSERT_TRUE(Report(intake_addr, "ack-2", &again).ok());
  EXPECT_EQ(again.case_id(), after.case_id());
  EXPECT_NE(after.case_id(), first.case_id());
}

}  // namespace
}  // namespace wangge
