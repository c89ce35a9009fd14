// The devbroker binary's signals, as outage tests and run.sh send them:
// SIGUSR1 (down) sent the moment the address is printed is not lost, the
// broker comes back on SIGUSR2, and SIGTERM right behind another signal
// still stops it.

#include <librdkafka/rdkafka.h>
#include <signal.h>

#include <string>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "services/common/testing/subprocess.h"
#include "services/common/testing/test_support.h"

namespace wangge::devbroker {
namespace {

// Whether a client gets the cluster's metadata within `timeout`.
bool Answers(const std::string& bootstrap, absl::Duration timeout) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err,
                    sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) return false;
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t e =
      rd_kafka_metadata(rk, 1, nullptr, &md,
                        static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_destroy(rk);
  return e == RD_KAFKA_RESP_ERR_NO_ERROR;
}

TEST(DevBrokerMainTest, SignalsAreNeitherLostNorFatal) {
  const std::string dir = testing::MakeTempDir("devbroker");
  testing::Subprocess broker;
  ASSERT_TRUE(
      broker
          .Start({"services/devbroker/devbroker", "--topics=t1",
                  "--partitions=1", "--bootstrap_file=" + dir + "/bootstrap"})
          .ok());
  auto bootstrap = broker.WaitForLine("bootstrap ", absl::Seconds(30));
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  broker.Signal(SIGUSR1);  // at once
  EXPECT_FALSE(Answers(*bootstrap, absl::Seconds(2)));
  broker.Signal(SIGUSR2);
  bool up = false;
  for (int i = 0; i < 10 && !up; ++i)
    up = Answers(*bootstrap, absl::Seconds(2));
  EXPECT_TRUE(up);
  broker.Signal(SIGUSR1);
  broker.Signal(SIGTERM);  // right behind it
  auto code = broker.Wait(absl::Seconds(10));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace wangge::devbroker
