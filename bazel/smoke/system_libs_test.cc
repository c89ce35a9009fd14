// Links one symbol from each system library the project takes through
// pkg-config, and calls it, so a broken generated target fails here first.
#include <google/protobuf/stubs/common.h>
#include <grpcpp/grpcpp.h>
#include <jwt.h>
#include <librdkafka/rdkafka.h>
#include <openssl/evp.h>
#include <rocksdb/version.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace {

TEST(SystemLibsTest, EachLibraryLinksAndAnswers) {
  EXPECT_EQ(absl::StrCat("wang", "ge"), "wangge");
  EXPECT_NE(EVP_get_digestbyname("SM3"), nullptr);
  EXPECT_GE(ROCKSDB_MAJOR, 7);
  EXPECT_GT(rd_kafka_version(), 0x02000000);
  EXPECT_EQ(GOOGLE_PROTOBUF_VERSION / 1000000, 3);
  EXPECT_FALSE(grpc::Version().empty());
  jwt_t* jwt = nullptr;
  ASSERT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_get_alg(jwt), JWT_ALG_NONE);
  jwt_free(jwt);
}

}  // namespace
