// Running famfs_fused: option parsing and the FUSE session's life cycle.
#pragma once

#include "famfs/result.h"
#include "server.h"

namespace famfs::fused {

// What the command line asks for.
struct Command {
    enum class Action { kServe, kHelp, kVersion };
    Action action = Action::kServe;
    ServerOptions server;
};

// famfs_fused [OPTION]... DEVICE MOUNTPOINT, or the reference's form
// famfs_fused [OPTION]... -o daxdev=DEVICE,... MOUNTPOINT (usage() lists
// the options). Errors name the option and the reason.
Result<Command> parse_command_line(int argc, char** argv);
const char* usage();
// "famfs_fused VERSION" and the libfuse version, one a line.
const char* version_text();

// Makes the state directory and its diagnostics socket, opens and loads the
// device (Server::open), mounts, installs the request transport, detaches
// from the terminal unless in the foreground, follows the log, serves until
// unmounted or stopped by a signal. Returns the exit status: 0 also after a
// signal.
int run_server(const ServerOptions& opt);

}  // namespace famfs::fused
