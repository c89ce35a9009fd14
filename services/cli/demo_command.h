#ifndef WANGGE_SERVICES_CLI_DEMO_COMMAND_H_
#define WANGGE_SERVICES_CLI_DEMO_COMMAND_H_

// `wangge demo`: a scripted run against the live stack that walks one case
// through the whole loop, every role played with its own development token.

#include <vector>

namespace wangge::cli {

int DemoCommand(const std::vector<char*>& args);

}  // namespace wangge::cli

#endif  // WANGGE_SERVICES_CLI_DEMO_COMMAND_H_
