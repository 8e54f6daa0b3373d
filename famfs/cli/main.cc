// famfs: global options, then one command from the table below.
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "commands.h"
#include "famfs_version.h"
#include "report.h"

namespace famfs::cli {
namespace {

const Command kCommands[] = {
    {"mount", cmd_mount, "mount a famfs device (starts the FUSE server)"},
    {"umount", cmd_umount, "unmount a famfs file system"},
    {"status", cmd_status, "show famfs mounts and their state"},
    {"fsck", cmd_fsck, "check a file system (device or path in a mount)"},
    {"check", cmd_check, "check that every file in a mount has a valid map"},
    {"mkdir", cmd_mkdir, "create a directory (master only)"},
    {"rm", cmd_rm, "remove files and directory trees (master only)"},
    {"rmdir", cmd_rmdir, "remove empty directories (master only)"},
    {"hosts", cmd_hosts, "show the host table and what pending space waits for"},
    {"host", cmd_host, "host evict NAME: end a dead host's slot (master only)"},
    {"cp", cmd_cp, "copy files into famfs (master only)"},
    {"creat", cmd_creat, "create and allocate files (master only)"},
    {"verify", cmd_verify, "verify files against the test pattern"},
    {"logplay", cmd_logplay, "replay the log into a mount"},
    {"getmap", cmd_getmap, "show a file's extents"},
    {"clone", cmd_clone, "log a file with another file's extents (test only)"},
    {"flush", cmd_flush, "write back and invalidate the CPU cache for files"},
    {"chkread", cmd_chkread, "compare read() with the memory mapping of a file"},
    {"run", cmd_run, "run a command with famfs files served from memory (LD_PRELOAD)"},
    {"mkmeta", cmd_mkmeta, "legacy: check a device (famfs mount serves the .meta files)"},
};

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs [--dryrun|-n] [--device DEVICE] <command> [args]\n"
                 "       famfs --help | --version\n"
                 "  --device DEVICE  work on an unmounted device; paths are relative to its root\n"
                 "  --dryrun, -n     check and report, change nothing\n"
                 "commands:\n");
    for (const Command& c : kCommands) std::fprintf(out, "  %-8s %s\n", c.name, c.summary);
    std::fprintf(out, "'famfs <command> --help' describes a command.\n");
}

void print_version(const char* program) {
    std::printf("%s %s\n", program, famfs::kVersion);
}

constexpr int kStopOk = -0x100;  // parse_globals: "stop with status 0"

const Command* find_command(const char* name) {
    for (const Command& c : kCommands) {
        if (std::strcmp(c.name, name) == 0) return &c;
    }
    return nullptr;
}

// Consumes the global options; returns the index of the command, or a
// negative exit status to stop with.
int parse_globals(int argc, char** argv, GlobalOptions& g) {
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; ++i) {
        const std::string a = argv[i];
        if (a == "-n" || a == "--dryrun") {
            g.dryrun = true;
        } else if (a == "--device" && i + 1 < argc) {
            g.device = argv[++i];
        } else if (a.starts_with("--device=")) {
            g.device = a.substr(9);
        } else if (a == "-h" || a == "-?" || a == "--help") {
            usage(stdout);
            return kStopOk;
        } else if (a == "--version") {
            print_version("famfs");
            return kStopOk;
        } else {
            std::fprintf(stderr, "famfs: unknown or incomplete global option '%s'\n", a.c_str());
            usage(stderr);
            return -kExitUsage;
        }
    }
    if (i == argc) {
        usage(stderr);
        return -kExitUsage;
    }
    return i;
}

// --help and --version mean the same to every command, so they are answered
// here rather than in fifteen option tables. GNU getopt permutes, so like the
// GNU tools they count anywhere before "--". Help is the command's own usage,
// asked for with the -? every command's parser takes for help (fsck's -h
// means --human). Returns the exit status when the command need not run.
std::optional<int> generic_options(const GlobalOptions& g, const Command& cmd, int argc,
                                   char** argv) {
    // `famfs run` passes everything from its command on to that command.
    const bool ends_at_operand = std::strcmp(cmd.name, "run") == 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--" || (ends_at_operand && a[0] != '-')) break;
        if (a == "--version") {
            print_version((std::string("famfs ") + cmd.name).c_str());
            return 0;
        }
        if (a == "--help") {
            char help[] = "-?";
            char* help_argv[] = {argv[0], help, nullptr};
            return exit_status(cmd.run(g, 2, help_argv));
        }
    }
    return std::nullopt;
}

}  // namespace
}  // namespace famfs::cli

int main(int argc, char** argv) {
    using namespace famfs::cli;
    GlobalOptions g;
    const int at = parse_globals(argc, argv, g);
    if (at == kStopOk) return 0;
    if (at < 0) return -at;
    const Command* cmd = find_command(argv[at]);
    if (cmd == nullptr) {
        std::fprintf(stderr, "famfs: unknown command '%s' ('famfs -h' lists them)\n", argv[at]);
        return kExitUnknownCommand;
    }
    if (auto stop = generic_options(g, *cmd, argc - at, argv + at)) return *stop;
    return exit_status(cmd->run(g, argc - at, argv + at));
}
