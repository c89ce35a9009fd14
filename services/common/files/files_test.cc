#include "services/common/files/files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>

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

// A world-readable leftover temp file (a crash between create and rename),
// or a link planted in its place, does not give the key its mode or a
// target elsewhere.
TEST(FilesTest, ALeftoverOrPlantedTempFileIsNotReused) {
  const std::string dir = testing::MakeTempDir("files");
  const std::string path = dir + "/key.pem";
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  testing::WriteFile(tmp, "old");
  ASSERT_EQ(::chmod(tmp.c_str(), 0644), 0);
  ASSERT_TRUE(WriteFileAtomically(path, "secret", 0600).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(*ReadFileToString(path), "secret");
  // A symlink where the temp file goes: the target is left alone.
  const std::string target = dir + "/elsewhere";
  testing::WriteFile(target, "untouched");
  ASSERT_EQ(::symlink(target.c_str(), tmp.c_str()), 0);
  ASSERT_TRUE(WriteFileAtomically(path, "again", 0600).ok());
  EXPECT_EQ(*ReadFileToString(target), "untouched");
  EXPECT_EQ(*ReadFileToString(path), "again");
}

}  // namespace
}  // namespace wangge::files
