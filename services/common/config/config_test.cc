#include "services/common/config/config.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "gtest/gtest.h"
#include "services/common/status/errors.h"

namespace wangge::config {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  absl::FlagSaver saver_;
};

TEST_F(ConfigTest, EnvironmentOverridesDefault) {
  ::setenv("DATA_DIR", "/tmp/from-env", 1);
  ::setenv("PARTITIONS", "4", 1);
  ApplyEnvironmentOverrides();
  ::unsetenv("DATA_DIR");
  ::unsetenv("PARTITIONS");
  EXPECT_EQ(absl::GetFlag(FLAGS_data_dir), "/tmp/from-env");
  EXPECT_EQ(absl::GetFlag(FLAGS_partitions), 4);
}

TEST_F(ConfigTest, CommandLineWinsOverEnvironment) {
  ::setenv("LISTEN", "127.0.0.1:1111", 1);
  char arg0[] = "svc";
  char arg1[] = "--listen=127.0.0.1:2222";
  char* argv[] = {arg0, arg1};
  ParseFlags(2, argv);
  ::unsetenv("LISTEN");
  EXPECT_EQ(absl::GetFlag(FLAGS_listen), "127.0.0.1:2222");
}

TEST_F(ConfigTest, BadValuesFailStartupNamingTheFlag) {
  absl::SetFlag(&FLAGS_plaintext, true);
  absl::SetFlag(&FLAGS_jwt_key_file, "/k");
  absl::SetFlag(&FLAGS_durability, "eventually");
  absl::SetFlag(&FLAGS_partitions, 0);
  auto c = LoadServiceConfig("intake");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  auto v = status::FieldViolations(c.status());
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "durability");
  EXPECT_EQ(v[1].field, "partitions");
}

// The start-up line names every setting, not only the common ones.
TEST_F(ConfigTest, TheConfigurationLineNamesEverySetting) {
  absl::SetFlag(&FLAGS_plaintext, true);
  absl::SetFlag(&FLAGS_jwt_key_file, "/k");
  absl::SetFlag(&FLAGS_checkpoint_every_events, 777);
  auto c = LoadServiceConfig("registry");
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string line = Describe(*c);
  EXPECT_NE(line.find("checkpoint_every_events=777"), std::string::npos)
      << line;
  EXPECT_NE(line.find("durability=sync"), std::string::npos) << line;
  // Each once.
  EXPECT_EQ(line.find("durability="), line.rfind("durability="));
}

TEST_F(ConfigTest, AckAfterKafkaNeedsKafka) {
  absl::SetFlag(&FLAGS_plaintext, true);
  absl::SetFlag(&FLAGS_jwt_key_file, "/k");
  absl::SetFlag(&FLAGS_durability, "ack_after_kafka");
  auto c = LoadServiceConfig("registry");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(status::FieldViolations(c.status())[0].field, "durability");
  absl::SetFlag(&FLAGS_kafka_bootstrap, "127.0.0.1:9092");
  EXPECT_TRUE(LoadServiceConfig("registry").ok());
}

TEST_F(ConfigTest, OneCallersStreamsAreAShareOfTheServers) {
  absl::SetFlag(&FLAGS_plaintext, true);
  absl::SetFlag(&FLAGS_jwt_key_file, "/k");
  absl::SetFlag(&FLAGS_max_streams, 100);
  absl::SetFlag(&FLAGS_max_streams_per_caller, 101);
  auto c = LoadServiceConfig("registry");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(status::ViolatedField(c.status()), "max_streams_per_caller");
  absl::SetFlag(&FLAGS_max_streams_per_caller, 0);
  EXPECT_FALSE(LoadServiceConfig("registry").ok());
  absl::SetFlag(&FLAGS_max_streams_per_caller, 100);
  ASSERT_TRUE(LoadServiceConfig("registry").ok());
  EXPECT_EQ(LoadServiceConfig("registry")->max_streams_per_caller, 100);
}

// A consumer's fetch wait: 5 ms for the dev broker, 500 ms for Apache
// Kafka (deploy/k8s); zero would spin, minutes would hide an outage.
TEST_F(ConfigTest, TheFetchWaitIsBounded) {
  absl::SetFlag(&FLAGS_plaintext, true);
  absl::SetFlag(&FLAGS_jwt_key_file, "/k");
  EXPECT_EQ(LoadServiceConfig("dispatch")->kafka_fetch_wait,
            absl::Milliseconds(5));
  ::setenv("KAFKA_FETCH_WAIT", "500ms", 1);
  ApplyEnvironmentOverrides();
  ::unsetenv("KAFKA_FETCH_WAIT");
  auto c = LoadServiceConfig("dispatch");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka_fetch_wait, absl::Milliseconds(500));
  EXPECT_NE(Describe(*c).find("kafka_fetch_wait=500ms"), std::string::npos);
  for (const absl::Duration bad : {absl::ZeroDuration(), absl::Minutes(1)}) {
    absl::SetFlag(&FLAGS_kafka_fetch_wait, bad);
    EXPECT_EQ(status::ViolatedField(LoadServiceConfig("dispatch").status()),
              "kafka_fetch_wait");
  }
}

TEST_F(ConfigTest, FollowersOfTheRegistryNeedItsAddressWithKafka) {
  absl::SetFlag(&FLAGS_plaintext, true);
  absl::SetFlag(&FLAGS_jwt_key_file, "/k");
  // Without Kafka a service may run alone (tests of one binary); with it, it
  // follows the registry and needs its address.
  EXPECT_TRUE(LoadServiceConfig("dispatch").ok());
  absl::SetFlag(&FLAGS_kafka_bootstrap, "127.0.0.1:9092");
  auto c = LoadServiceConfig("dispatch");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(status::ViolatedField(c.status()), "registry_addr");
  EXPECT_TRUE(LoadServiceConfig("registry").ok());
  absl::SetFlag(&FLAGS_registry_addr, "127.0.0.1:7005");
  EXPECT_TRUE(LoadServiceConfig("dispatch").ok());
}

TEST_F(ConfigTest, TlsRequiredUnlessPlaintext) {
  absl::SetFlag(&FLAGS_plaintext, false);
  absl::SetFlag(&FLAGS_jwt_key_file, "/k");
  auto c = LoadServiceConfig("intake");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(status::FieldViolations(c.status())[0].field, "tls_cert_file");
  absl::SetFlag(&FLAGS_plaintext, true);
  absl::SetFlag(&FLAGS_supervision_addr, "127.0.0.1:7002");
  auto ok = LoadServiceConfig("intake");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->peers.at("supervision"), "127.0.0.1:7002");
  EXPECT_EQ(ok->durability, "sync");
}

TEST_F(ConfigTest, KafkaTlsNeedsCertificateKeyAndCa) {
  absl::SetFlag(&FLAGS_plaintext, true);
  absl::SetFlag(&FLAGS_jwt_key_file, "/k");
  absl::SetFlag(&FLAGS_kafka_cert_file, "/user.crt");
  auto c = LoadServiceConfig("intake");
  ASSERT_FALSE(c.ok());
  auto v = status::FieldViolations(c.status());
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].field, "kafka_cert_file");
  EXPECT_EQ(v[1].field, "kafka_ca_file");
  absl::SetFlag(&FLAGS_kafka_key_file, "/user.key");
  absl::SetFlag(&FLAGS_kafka_ca_file, "/ca.crt");
  EXPECT_TRUE(LoadServiceConfig("intake").ok());
}

TEST_F(ConfigTest, ResolvedFlagsListsOnlyOurs) {
  auto flags = ResolvedFlags();
  EXPECT_TRUE(flags.count("listen"));
  EXPECT_TRUE(flags.count("durability"));
  EXPECT_FALSE(flags.count("flagfile"));
}

}  // namespace
}  // namespace wangge::config
