// famfs_fused: the FUSE server behind `famfs mount`.
#include <cstdio>

#include "session.h"

int main(int argc, char** argv) {
    using famfs::fused::Command;
    auto cmd = famfs::fused::parse_command_line(argc, argv);
    if (!cmd) {
        std::fprintf(stderr, "famfs_fused: %s\n", cmd.error().message.c_str());
        return 1;
    }
    switch (cmd->action) {
        case Command::Action::kHelp:
            std::fputs(famfs::fused::usage(), stdout);
            return 0;
        case Command::Action::kVersion:
            std::fputs(famfs::fused::version_text(), stdout);
            return 0;
        case Command::Action::kServe:
            break;
    }
    return famfs::fused::run_server(cmd->server);
}
