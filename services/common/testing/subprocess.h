#ifndef WANGGE_SERVICES_COMMON_TESTING_SUBPROCESS_H_
#define WANGGE_SERVICES_COMMON_TESTING_SUBPROCESS_H_

// A child process for end-to-end and crash tests: started with arguments
// and extra environment, its stdout read line by line, signalled, reaped.

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace wangge::testing {

class Subprocess {
 public:
  Subprocess() = default;
  ~Subprocess();  // SIGKILLs a child still running.
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // `argv[0]` is the program path (relative to the runfiles directory in a
  // Bazel test). stderr is inherited.
  absl::Status Start(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env = {});

  // The next line of stdout (without '\n'), waiting up to `timeout`.
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout);
  // Reads lines until one starts with `prefix`; returns the rest of it.
  absl::StatusOr<std::string> WaitForLine(const std::string& prefix,
                                          absl::Duration timeout);

  void Signal(int sig);
  // Waits for exit; returns the exit code, or 128 + signal.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
};

// Runs a command-line tool to its end: its exit code (-1 if it could not be
// run or did not finish) and its stdout.
struct ToolRun {
  int code = -1;
  std::string output;
};
ToolRun RunTool(const std::vector<std::string>& argv,
                absl::Duration timeout = absl::Seconds(30));

}  // namespace wangge::testing

#endif  // WANGGE_SERVICES_COMMON_TESTING_SUBPROCESS_H_
