#include "services/cli/audit_command.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace wangge::cli {

std::string AuditBinary(const char* self) {
  if (const char* env = std::getenv("WANGGE_AUDIT"); env && *env) return env;
  std::error_code ec;
  std::filesystem::path me = std::filesystem::canonical("/proc/self/exe", ec);
  if (ec) me = self;
  for (const auto& candidate : {me.parent_path() / "audit",
                                me.parent_path() / ".." / "audit" / "audit"}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "audit";
}

namespace {

[[noreturn]] void Exec(const std::string& binary,
                       std::vector<std::string> args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execvp(binary.c_str(), argv.data());
  std::fprintf(stderr, "cannot run the audit tool %s (set WANGGE_AUDIT)\n",
               binary.c_str());
  std::_Exit(127);
}

}  // namespace

int ExecAudit(const char* self, int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  Exec(AuditBinary(self), std::move(args));
}

int RunAudit(const char* self, const std::vector<std::string>& args) {
  std::fflush(stdout);
  std::fflush(stderr);
  const std::string binary = AuditBinary(self);
  pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) Exec(binary, args);
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace wangge::cli
