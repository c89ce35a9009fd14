#include "services/common/files/files.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "services/common/testing/test_support.h"

namespace wangge::files {
namespace {

TEST(FilesTest, AtomicWriteReplacesContentWithMode) {
  const std::string dir = testing::MakeTempDir("files");
  const std::string path = dir + "/key.pem";
  ASSERT_TRUE(WriteFileAtomically(path, "first", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second", 0600).ok());
  EXPECT_EQ(*ReadFileToString(path), "second");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFileToString(dir + "/absent").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(WriteFileAtomically(dir + "/no/such/dir/x", "y").ok());
}

}  // namespace
}  // namespace wangge::files
