// harness: the front end of the multi-host lab. See `harness --help`.
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "famfs_version.h"
#include "help.h"
#include "signals.h"

using namespace lab;

int main(int argc, char** argv) {
    install_interrupt_handlers();
    std::vector<std::string> words(argv + 1, argv + argc);
    auto args = parse_args(words);
    if (!args) {
        std::fprintf(stderr, "harness: %s\n", args.error().message.c_str());
        return kExitHarnessError;
    }
    if (args->flag("--version")) {
        std::printf("harness %s\n", famfs::kVersion);
        return 0;
    }
    if (args->positional.empty() || args->flag("--help") || args->positional[0] == "help") {
        std::fputs(kHelpText, stdout);
        return args->positional.empty() && !args->flag("--help") ? 1 : 0;
    }
    const std::map<std::string, std::function<int(const Args&)>> commands = {
        {"up", cmd_up},
        {"down", cmd_down},
        {"status", cmd_status},
        {"hosts", cmd_hosts},
        {"topologies", cmd_topologies},
        {"exec", cmd_exec},
        {"qmp", cmd_qmp},
        {"hmp", cmd_hmp},
        {"stop", [](const Args& a) { return cmd_stop_cont(a, "stop"); }},
        {"cont", [](const Args& a) { return cmd_stop_cont(a, "cont"); }},
        {"crash", cmd_crash},
        {"restart", cmd_restart},
        {"caps", cmd_caps},
        {"logs", cmd_logs},
        {"inject", cmd_inject},
        {"console", cmd_console},
    };
    Args rest = *args;
    std::string name = rest.positional.front();
    rest.positional.erase(rest.positional.begin());
    auto it = commands.find(name);
    if (it == commands.end()) {
        std::fprintf(stderr, "harness: unknown command '%s' (see harness --help)\n", name.c_str());
        return kExitHarnessError;
    }
    return it->second(rest);
}
