#ifndef WANGGE_SERVICES_CLI_CASE_COMMANDS_H_
#define WANGGE_SERVICES_CLI_CASE_COMMANDS_H_

// `wangge case ...` (the supervision centre), `wangge task ...` (the command
// centre and departments) and `wangge evaluation ...`. Each action uses a
// development token of the role that may do it (--subject names the
// person, --department a handler's department), unless --token.

#include <vector>

namespace wangge::cli {

int CaseCommand(const std::vector<char*>& args);
int TaskCommand(const std::vector<char*>& args);
int EvaluationCommand(const std::vector<char*>& args);

}  // namespace wangge::cli

#endif  // WANGGE_SERVICES_CLI_CASE_COMMANDS_H_
