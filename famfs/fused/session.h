// Running famfs_fused: option parsing and the FUSE session's life cycle.
#pragma once

#include "famfs/result.h"
#include "server.h"

namespace famfs::fused {

// famfs_fused [OPTION]... DEVICE MOUNTPOINT (usage() lists the options)
Result<ServerOptions> parse_options(int argc, char** argv);
const char* usage();

// Validates and loads the device, mounts, detaches from the terminal unless
// in the foreground, serves until unmounted. Returns the exit status.
int run_server(const ServerOptions& opt);

}  // namespace famfs::fused
