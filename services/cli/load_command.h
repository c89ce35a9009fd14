#ifndef WANGGE_SERVICES_CLI_LOAD_COMMAND_H_
#define WANGGE_SERVICES_CLI_LOAD_COMMAND_H_

// `wangge load`: the load generator. Drives the defined lifecycle against
// the live stack from many channels and grids (report → verify → file →
// dispatch → accept → handled → check → close → follow-up; one case in ten
// sent back once, one in ten reworked once) and reports lifecycles closed
// per second, latencies and the stack's resident memory.

#include <vector>

namespace wangge::cli {

int LoadCommand(const std::vector<char*>& args);

}  // namespace wangge::cli

#endif  // WANGGE_SERVICES_CLI_LOAD_COMMAND_H_
