#ifndef WANGGE_SERVICES_CLI_OVERSIGHT_COMMANDS_H_
#define WANGGE_SERVICES_CLI_OVERSIGHT_COMMANDS_H_

// `wangge redline ...` (organisations and overseers), `wangge coverage`,
// `wangge notice ...` (a party member's 督办), `wangge wish ...` (微心愿) and
// `wangge participation`.

#include <vector>

namespace wangge::cli {

int RedLineCommand(const std::vector<char*>& args);
int CoverageCommand(const std::vector<char*>& args);
int NoticeCommand(const std::vector<char*>& args);
int WishCommand(const std::vector<char*>& args);
int ParticipationCommand(const std::vector<char*>& args);

}  // namespace wangge::cli

#endif  // WANGGE_SERVICES_CLI_OVERSIGHT_COMMANDS_H_
