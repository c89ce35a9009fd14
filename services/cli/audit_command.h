#ifndef WANGGE_SERVICES_CLI_AUDIT_COMMAND_H_
#define WANGGE_SERVICES_CLI_AUDIT_COMMAND_H_

// `wangge audit ...` runs the audit tool (services/audit) with the rest of
// the command line untouched: the auditor's commands from the same CLI,
// while the tool itself stays a separate binary that needs no service.

#include <string>
#include <vector>

namespace wangge::cli {

// The audit binary: --audit_binary / $WANGGE_AUDIT, else beside this
// binary (installed layout) or in bazel-bin's services/audit, else "audit"
// on the PATH.
std::string AuditBinary(const char* self);

// Replaces this process with `audit args...`; returns only on failure.
int ExecAudit(const char* self, int argc, char** argv);

// Runs `audit args...` as a child and returns its exit code.
int RunAudit(const char* self, const std::vector<std::string>& args);

}  // namespace wangge::cli

#endif  // WANGGE_SERVICES_CLI_AUDIT_COMMAND_H_
