// The famfs CLI's commands. Each command lives in its own file (cmd_*.cc)
// and returns the process exit status; main.cc only dispatches.
#pragma once

#include <string>

namespace famfs::cli {

struct GlobalOptions {
    bool dryrun = false;
    // --device DEVICE: operate on an unmounted device; paths are relative
    // to the file system root instead of inside a mount.
    std::string device;
};

using CommandFn = int (*)(const GlobalOptions& g, int argc, char** argv);

struct Command {
    const char* name;
    CommandFn run;
    const char* summary;
};

// argv[0] is the command name in every command function (getopt-ready).
int cmd_creat(const GlobalOptions& g, int argc, char** argv);
int cmd_cp(const GlobalOptions& g, int argc, char** argv);
int cmd_mkdir(const GlobalOptions& g, int argc, char** argv);
int cmd_rm(const GlobalOptions& g, int argc, char** argv);
int cmd_rmdir(const GlobalOptions& g, int argc, char** argv);
int cmd_hosts(const GlobalOptions& g, int argc, char** argv);
int cmd_host(const GlobalOptions& g, int argc, char** argv);
int cmd_verify(const GlobalOptions& g, int argc, char** argv);
int cmd_fsck(const GlobalOptions& g, int argc, char** argv);
int cmd_check(const GlobalOptions& g, int argc, char** argv);
int cmd_getmap(const GlobalOptions& g, int argc, char** argv);
int cmd_clone(const GlobalOptions& g, int argc, char** argv);
int cmd_flush(const GlobalOptions& g, int argc, char** argv);
int cmd_chkread(const GlobalOptions& g, int argc, char** argv);
int cmd_mount(const GlobalOptions& g, int argc, char** argv);
int cmd_umount(const GlobalOptions& g, int argc, char** argv);
int cmd_status(const GlobalOptions& g, int argc, char** argv);
int cmd_logplay(const GlobalOptions& g, int argc, char** argv);
int cmd_mkmeta(const GlobalOptions& g, int argc, char** argv);
int cmd_run(const GlobalOptions& g, int argc, char** argv);

int mkfs_main(int argc, char** argv);

}  // namespace famfs::cli
