#include "services/common/eventbus/kafka_config.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>

#include "gtest/gtest.h"
#include "services/common/testing/test_support.h"

namespace wangge::eventbus {
namespace {

// A renewed client certificate reaches a client only when it is rebuilt
// (librdkafka reads the files once): the watch asks for that when the files
// change, as Kubernetes swaps a Secret's files (a new file renamed over).
TEST(BootstrapWatchTest, RenewedTlsFilesRebuildTheClient) {
  const std::string dir = wangge::testing::MakeTempDir("kafka_tls");
  KafkaEndpoint kafka;
  kafka.bootstrap = "127.0.0.1:9";
  kafka.ca_file = dir + "/ca.crt";
  kafka.cert_file = dir + "/user.crt";
  kafka.key_file = dir + "/user.key";
  wangge::testing::WriteFile(kafka.ca_file, "ca");
  wangge::testing::WriteFile(kafka.cert_file, "certificate 1");
  wangge::testing::WriteFile(kafka.key_file, "key 1");

  ClientBuild built;
  auto conf = MakeClientConf(kafka, "test", {}, &built);
  ASSERT_TRUE(conf.ok()) << conf.status();
  rd_kafka_conf_destroy(*conf);
  EXPECT_EQ(built.bootstrap, "127.0.0.1:9");
  EXPECT_EQ(built.tls_files, *kafka.TlsFilesStamp());
  EXPECT_NE(built.tls_files.find(kafka.cert_file), std::string::npos);

  BootstrapWatch watch(absl::ZeroDuration());
  EXPECT_FALSE(watch.ShouldReconnect(kafka, /*brokers_down=*/false, built));
  // Renewed: same size, a new file in its place.
  wangge::testing::WriteFile(dir + "/user.crt.new", "certificate 2");
  ASSERT_EQ(::rename((dir + "/user.crt.new").c_str(), kafka.cert_file.c_str()),
            0);
  EXPECT_TRUE(watch.ShouldReconnect(kafka, /*brokers_down=*/false, built));
  // Rebuilt with the new files: nothing more to do.
  conf = MakeClientConf(kafka, "test", {}, &built);
  ASSERT_TRUE(conf.ok()) << conf.status();
  rd_kafka_conf_destroy(*conf);
  EXPECT_FALSE(watch.ShouldReconnect(kafka, /*brokers_down=*/false, built));
  // A file gone keeps the working client (a new one could not handshake);
  // back, renewed, it is rebuilt.
  ASSERT_EQ(::remove(kafka.key_file.c_str()), 0);
  EXPECT_FALSE(watch.ShouldReconnect(kafka, /*brokers_down=*/false, built));
  wangge::testing::WriteFile(kafka.key_file, "key 2");
  EXPECT_TRUE(watch.ShouldReconnect(kafka, /*brokers_down=*/false, built));
}

// Between looks the files are not read again (at most one stat per file per
// interval on a consumer's loop).
TEST(BootstrapWatchTest, TlsFilesAreLookedAtOncePerInterval) {
  const std::string dir = wangge::testing::MakeTempDir("kafka_tls_interval");
  KafkaEndpoint kafka;
  kafka.bootstrap = "127.0.0.1:9";
  kafka.ca_file = dir + "/ca.crt";
  wangge::testing::WriteFile(kafka.ca_file, "ca 1");
  ClientBuild built{"127.0.0.1:9", *kafka.TlsFilesStamp()};
  BootstrapWatch watch(absl::Hours(1));
  EXPECT_FALSE(watch.ShouldReconnect(kafka, false, built));
  wangge::testing::WriteFile(kafka.ca_file, "ca 2, longer");
  EXPECT_FALSE(watch.ShouldReconnect(kafka, false, built));
}

// Without TLS there is nothing to watch, and healthy brokers keep their
// client whatever the bootstrap says.
TEST(BootstrapWatchTest, PlaintextClientsAreKeptWhileBrokersAnswer) {
  KafkaEndpoint kafka;
  kafka.bootstrap = "127.0.0.1:9";
  ASSERT_TRUE(kafka.TlsFilesStamp().has_value());
  EXPECT_EQ(*kafka.TlsFilesStamp(), "");
  BootstrapWatch watch(absl::ZeroDuration());
  EXPECT_FALSE(
      watch.ShouldReconnect(kafka, false, ClientBuild{"127.0.0.1:8", ""}));
}

}  // namespace
}  // namespace wangge::eventbus
