// A service's log altered on disk, below the service (one byte of a stored
// record, hashes left as they were): the auditor's `replay` and
// `evaluation` refuse to compute from it, naming the position, and `verify`
// reports it.
// Both read the log through the service's ReadLog, as an auditor would.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "services/common/eventstore/event_store.h"
#include "services/common/testing/subprocess.h"
#include "services/common/testing/test_support.h"
#include "services/registry/app/deployment_json.h"
#include "services/registry/generator/city_generator.h"
#include "tests/stack.h"
#include "wangge/common/v1/envelope.pb.h"
#include "wangge/registry/v1/registry.grpc.pb.h"

namespace wangge {
namespace {

TEST(AuditTamperE2eTest, ReplayRefusesAnAlteredLogAndVerifyNamesIt) {
  const std::string dir = testing::MakeTempDir("tamper");
  testing::WriteFile(dir + "/jwt.key", testing::kDevSecret);
  const std::map<std::string, std::string> env = {
      {"LISTEN", "127.0.0.1:0"},
      {"METRICS_LISTEN", ""},
      {"PLAINTEXT", "true"},
      {"DATA_DIR", dir + "/registry"},
      {"JWT_KEY_FILE", dir + "/jwt.key"},
      {"PARTITIONS", "1"},
      {"LOG_LEVEL", "warning"}};
  auto start = [&](testing::Subprocess* p) {
    EXPECT_TRUE(p->Start({"services/registry/registry"}, env).ok());
    auto address = p->WaitForLine("listening ", absl::Seconds(60));
    EXPECT_TRUE(address.ok()) << address.status();
    return address.ok() ? *address : "";
  };
  // stdout and stderr (where the audit explains a refusal).
  auto audit = [&](const std::string& command, const std::string& address) {
    return testing::RunTool(
        {"/bin/sh", "-c",
         absl::StrCat("exec services/audit/audit ", command,
                      " --addr=registry=", address, " --key_file=", dir,
                      "/jwt.key 2>&1")},
        absl::Seconds(60));
  };

  // A registry with history: the demo deployment.
  {
    testing::Subprocess registry;
    const std::string address = start(&registry);
    ASSERT_FALSE(address.empty());
    testing::ImportDemoInto(address);
    if (HasFatalFailure()) return;
    // Untouched, the replay goes through (here with the token read from a
    // file, as the audit CronJob passes it, off the command line).
    testing::WriteFile(dir + "/token",
                       testing::DevToken(common::v1::ROLE_AUDITOR) + "\n");
    testing::ToolRun clean = testing::RunTool(
        {"services/audit/audit", "replay", "--addr=registry=" + address,
         "--token_file=" + dir + "/token"},
        absl::Seconds(60));
    EXPECT_EQ(clean.code, 0) << clean.output;
    registry.Signal(SIGTERM);
    ASSERT_TRUE(registry.Wait(absl::Seconds(30)).ok());
  }

  // One byte of event 5's record changed in RocksDB, its hashes kept.
  {
    std::vector<std::string> names;
    ASSERT_TRUE(
        rocksdb::DB::ListColumnFamilies({}, dir + "/registry/store", &names)
            .ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& n : names) families.push_back({n, {}});
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open({}, dir + "/registry/store", families, &handles, &db)
            .ok());
    rocksdb::ColumnFamilyHandle* log = nullptr;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "events.0") log = handles[i];
    }
    ASSERT_NE(log, nullptr);
    std::string value;
    ASSERT_TRUE(db->Get({}, log, eventstore::EventKey(0, 5), &value).ok());
    common::v1::StoredEvent stored;
    ASSERT_TRUE(stored.ParseFromString(value));
    std::string record = stored.record();
    record[record.size() - 3] ^= 0x20;
    stored.set_record(record);
    ASSERT_TRUE(
        db->Put({}, log, eventstore::EventKey(0, 5), stored.SerializeAsString())
            .ok());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }

  testing::Subprocess registry;
  const std::string address = start(&registry);
  ASSERT_FALSE(address.empty());
  testing::ToolRun replay = audit("replay", address);
  EXPECT_NE(replay.code, 0) << replay.output;
  EXPECT_NE(replay.output.find("registry/0 at 5: leaf_hash"), std::string::npos)
      << replay.output;
  // The evaluation computed from it is refused the same way.
  testing::ToolRun evaluation =
      audit("evaluation --from=2020-01-01T00:00:00Z --to=2030-01-01T00:00:00Z",
            address);
  EXPECT_NE(evaluation.code, 0) << evaluation.output;
  EXPECT_NE(evaluation.output.find("at 5: leaf_hash"), std::string::npos)
      << evaluation.output;
  testing::ToolRun verify = audit("verify", address);
  EXPECT_EQ(verify.code, 1) << verify.output;
  EXPECT_NE(verify.output.find("leaf_hash"), std::string::npos)
      << verify.output;
  registry.Signal(SIGTERM);
  ASSERT_TRUE(registry.Wait(absl::Seconds(30)).ok());
}

}  // namespace
}  // namespace wangge
