// The audit tool reading Kafka instead of the services: the dev broker, the
// registry and intake as processes, a few reports; the topics read from
// their beginning equal the services' logs event by event and verify clean
// (hashes, Merkle roots, signed checkpoints). Then a forged copy of one
// event is published into intake's topic (what someone with write access to
// Kafka could do): verify on the topic reports it, and the comparison with
// the service's own log finds the difference. Also `audit prove` for one
// event, checked offline.

#include <librdkafka/rdkafka.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "services/audit/export_format.h"
#include "services/common/files/files.h"
#include "services/common/testing/subprocess.h"
#include "services/common/testing/test_support.h"
#include "tests/stack.h"
#include "wangge/intake/v1/intake.grpc.pb.h"

namespace wangge {
namespace {

// Publishes `value` into partition `p` of `topic` as an outsider would.
void Publish(const std::string& bootstrap, const std::string& topic, int p,
             const std::string& value) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err,
                              sizeof(err)),
            RD_KAFKA_CONF_OK);
  rd_kafka_t* producer =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  ASSERT_NE(producer, nullptr) << err;
  ASSERT_EQ(
      rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(p),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
      RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);
}

TEST(AuditKafkaE2eTest, TopicsVerifyAndAForgedMessageIsCaught) {
  testing::Stack stack("auditkafka");
  stack.StartBroker();
  stack.Start("registry");
  stack.Start("intake", {"registry"});
  stack.ImportDemo();
  stack.WaitReady("intake");
  auto stub = intake::v1::IntakeService::NewStub(stack.Channel("intake"));
  const std::string token =
      testing::DevToken(common::v1::ROLE_CHANNEL, {"*"}, "gateway", "", "app");
  for (int i = 0; i < 30; ++i) {
    intake::v1::ReportCaseRequest r;
    r.set_request_id(absl::StrCat("k-", i));
    r.set_category_code("event/01/0102");
    r.set_description("暴露垃圾");
    auto* point = r.mutable_location()->mutable_point();
    point->set_longitude(116.405 + 0.0001 * i);
    point->set_latitude(39.93);
    point->set_coordinate_system(common::v1::COORDINATE_SYSTEM_WGS84);
    intake::v1::ReportCaseResponse resp;
    auto ctx = testing::Stack::Context(token);
    ASSERT_TRUE(stub->ReportCase(ctx.get(), r, &resp).ok());
  }

  const std::string addr = absl::StrCat("--addr=intake=", stack.addr("intake"),
                                        ",registry=", stack.addr("registry"));
  const std::string kafka =
      "--kafka_bootstrap_file=" + stack.dir() + "/kafka.bootstrap";
  const std::string key = "--key_file=" + stack.dir() + "/jwt.key";
  const std::string keys =
      absl::StrCat("--public_keys=intake=", stack.dir(),
                   "/intake/signing-key.pub.pem,registry=", stack.dir(),
                   "/registry/signing-key.pub.pem");
  // Once the relays have published everything, the topics equal the logs.
  testing::ToolRun compare;
  for (int i = 0; i < 60; ++i) {
    compare = testing::RunTool({"services/audit/audit", "compare", addr,
                                "--kafka_topics=intake,registry", kafka, key},
                               absl::Seconds(60));
    if (compare.code == 0) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  ASSERT_EQ(compare.code, 0) << compare.output;
  testing::ToolRun verify =
      testing::RunTool({"services/audit/audit", "verify",
                        "--kafka_topics=intake,registry", kafka, keys},
                       absl::Seconds(60));
  ASSERT_EQ(verify.code, 0) << verify.output;
  EXPECT_NE(verify.output.find("\"ok\": true"), std::string::npos);
  EXPECT_NE(verify.output.find("\"service\": \"intake\""), std::string::npos);

  // One event proved against the latest signed checkpoint; the proof is
  // kept and checks offline; another service's key does not verify it.
  const std::string proof = stack.dir() + "/proof.json";
  testing::ToolRun prove = testing::RunTool(
      {"services/audit/audit", "prove", "--addr=intake=" + stack.addr("intake"),
       "--partition=0", "--sequence=2", "--receipt=" + proof, key,
       "--public_keys=intake=" + stack.dir() + "/intake/signing-key.pub.pem"},
      absl::Seconds(60));
  EXPECT_EQ(prove.code, 0) << prove.output;
  EXPECT_NE(prove.output.find("intake/0/2 in the signed tree"),
            std::string::npos)
      << prove.output;
  testing::ToolRun offline = testing::RunTool(
      {"services/audit/audit", "check-receipt", "--receipt=" + proof,
       "--public_keys=intake=" + stack.dir() + "/intake/signing-key.pub.pem"});
  EXPECT_EQ(offline.code, 0) << offline.output;
  testing::ToolRun wrong_key = testing::RunTool(
      {"services/audit/audit", "prove", "--addr=intake=" + stack.addr("intake"),
       "--partition=0", "--sequence=2", key,
       "--public_keys=intake=" + stack.dir() + "/registry/signing-key.pub.pem"},
      absl::Seconds(60));
  EXPECT_EQ(wrong_key.code, 1) << wrong_key.output;

  // A forged copy of intake's second event in partition 0: one byte of the
  // record changed, the claimed leaf hash kept.
  testing::ToolRun exported =
      testing::RunTool({"services/audit/audit", "export",
                        "--addr=intake=" + stack.addr("intake"), key},
                       absl::Seconds(60));
  ASSERT_EQ(exported.code, 0);
  // The saved checkpoints of a clean run bind the next one: a source that
  // leaves out a partition the last run saw fails, and a state file that
  // does not parse stops the run rather than being replaced.
  {
    const std::string all = stack.dir() + "/export-all.jsonl";
    const std::string without_p0 = stack.dir() + "/export-without-0.jsonl";
    const std::string state = stack.dir() + "/audit-state.json";
    std::string kept;
    for (absl::string_view line : absl::StrSplit(exported.output, '\n')) {
      auto e = audit::ParseExportLine(std::string(line));
      if (e.ok() && e->partition != 0) absl::StrAppend(&kept, line, "\n");
    }
    ASSERT_TRUE(files::WriteFileAtomically(all, exported.output).ok());
    ASSERT_TRUE(files::WriteFileAtomically(without_p0, kept).ok());
    testing::ToolRun first =
        testing::RunTool({"services/audit/audit", "verify",
                          "--export_file=" + all, keys, "--state=" + state},
                         absl::Seconds(60));
    ASSERT_EQ(first.code, 0) << first.output;
    auto saved = files::ReadFileToString(state);
    ASSERT_TRUE(saved.ok());
    ASSERT_NE(saved->find("intake/0"), std::string::npos) << *saved;
    testing::ToolRun dropped = testing::RunTool(
        {"services/audit/audit", "verify", "--export_file=" + without_p0, keys,
         "--state=" + state},
        absl::Seconds(60));
    EXPECT_EQ(dropped.code, 1) << dropped.output;
    EXPECT_NE(dropped.output.find("shorter"), std::string::npos)
        << dropped.output;
    ASSERT_TRUE(files::WriteFileAtomically(state, "{not json").ok());
    testing::ToolRun unreadable =
        testing::RunTool({"services/audit/audit", "verify",
                          "--export_file=" + all, keys, "--state=" + state},
                         absl::Seconds(60));
    EXPECT_EQ(unreadable.code, 2) << unreadable.output;
    EXPECT_EQ(*files::ReadFileToString(state), "{not json");
  }
  std::string forged;
  for (absl::string_view line : absl::StrSplit(exported.output, '\n')) {
    auto e = audit::ParseExportLine(std::string(line));
    if (!e.ok() || e->partition != 0) continue;
    common::v1::EventEnvelope env;
    ASSERT_TRUE(env.ParseFromString(e->event.record()));
    if (env.sequence() != 2) continue;
    common::v1::StoredEvent copy = e->event;
    std::string record = copy.record();
    record[record.size() - 1] ^= 0x01;
    copy.set_record(record);
    forged = copy.SerializeAsString();
  }
  ASSERT_FALSE(forged.empty()) << "no event 0/2 in intake's export";
  auto bootstrap = files::ReadFileToString(stack.dir() + "/kafka.bootstrap");
  ASSERT_TRUE(bootstrap.ok());
  Publish(std::string(absl::StripAsciiWhitespace(*bootstrap)),
          "wangge.intake.events", 0, forged);

  verify = testing::RunTool(
      {"services/audit/audit", "verify", "--kafka_topics=intake", kafka, keys},
      absl::Seconds(60));
  EXPECT_EQ(verify.code, 1) << verify.output;
  EXPECT_NE(verify.output.find("\"partition\": 0"), std::string::npos);
  compare = testing::RunTool({"services/audit/audit", "compare",
                              "--addr=intake=" + stack.addr("intake"),
                              "--kafka_topics=intake", kafka, key},
                             absl::Seconds(60));
  EXPECT_NE(compare.code, 0) << compare.output;
}

}  // namespace
}  // namespace wangge
