// famfs mount: validates the device, refuses mounts that would clash, and
// starts famfs_fused, which mounts, detaches and serves (see famfs/fused).
#include <getopt.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "famfs/volume.h"
#include "fuse_mode.h"
#include "mount_server.h"
#include "report.h"

namespace famfs::cli {

namespace {

constexpr const char* kCmd = "mount";

void mount_usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs mount [-t SECS] [-d] [-v] [-u] [-p] [-b] DEVICE MOUNTPOINT\n"
                 "  -t, --timeout SECS   attribute and entry cache timeout (default 1)\n"
                 "  -d, --debug          run the server in the foreground, single-threaded, debug\n"
                 "  -v, --verbose        verbose\n"
                 "  -u, --nouseraccess   no allow_other: only the mounting user has access\n"
                 "  -p, --nodefaultperm  no default_permissions: famfs_fused checks the mode\n"
                 "                       bits itself (entry and attribute timeouts 0)\n"
                 "  -b, --bouncedax      the server copies read replies through a buffer\n"
                 "                       (always so on devdax and PCI BAR devices)\n"
                 "  -f, --fuse           use the FUSE server (the default)\n"
                 "  -F, --nofuse         use the standalone famfs kernel module\n"
                 "  -m, --mmap, -r, --read\n"
                 "                       accepted for compatibility (they exclude each other)\n");
}

struct MountArgs {
    std::vector<std::string> server_flags;
    bool debug = false;
    bool verbose = false;
    bool nofuse = false;
    std::string device, mountpoint;
};

// 0 when parsed, else the exit status to stop with (-1: help, exit 0).
int parse_mount_args(int argc, char** argv, MountArgs& a) {
    static const option kLong[] = {
        {"timeout", required_argument, nullptr, 't'}, {"debug", no_argument, nullptr, 'd'},
        {"verbose", no_argument, nullptr, 'v'},       {"nouseraccess", no_argument, nullptr, 'u'},
        {"nodefaultperm", no_argument, nullptr, 'p'}, {"bouncedax", no_argument, nullptr, 'b'},
        {"fuse", no_argument, nullptr, 'f'},          {"nofuse", no_argument, nullptr, 'F'},
        {"mmap", no_argument, nullptr, 'm'},          {"read", no_argument, nullptr, 'r'},
        {"help", no_argument, nullptr, 'h'},          {nullptr, 0, nullptr, 0}};
    LogAccessFlags access;
    reset_getopt();
    int c;
    while ((c = getopt_long(argc, argv, "+t:dvupbfFmrh?", kLong, nullptr)) != -1) {
        if (access.take(c)) continue;
        switch (c) {
            case 't':
                a.server_flags.insert(a.server_flags.end(), {"-t", optarg});
                break;
            case 'd':
                a.debug = true;
                a.server_flags.push_back("-d");
                break;
            case 'v':
                a.verbose = true;
                a.server_flags.push_back("-v");
                break;
            case 'u':
                a.server_flags.push_back("-u");
                break;
            case 'p':
                a.server_flags.push_back("-p");
                break;
            case 'b':
                a.server_flags.push_back("-b");
                break;
            case 'f':
                a.nofuse = false;
                break;
            case 'F':
                a.nofuse = true;
                break;
            default:
                mount_usage(help_requested(c, argv) ? stdout : stderr);
                return help_requested(c, argv) ? -1 : kExitUsage;
        }
    }
    if (!access.check(kCmd) || argc - optind != 2) {
        mount_usage(stderr);
        return kExitUsage;
    }
    // The mount table records the device as given; keep it canonical.
    char real[PATH_MAX];
    a.device = realpath(argv[optind], real) ? real : absolute_lexical(argv[optind]);
    a.mountpoint = absolute_lexical(argv[optind + 1]);
    return 0;
}

// 0 when the mount may go ahead, else an errno (the problem is reported).
int check_clashes(const MountArgs& a) {
    switch (mount_state(a.mountpoint)) {
        case MountState::kLive:
            report_error(kCmd, a.mountpoint, "already mounted");
            return EBUSY;
        case MountState::kDead:
            // A killed server leaves a dead mount; replace it.
            if (umount2(a.mountpoint.c_str(), MNT_DETACH) != 0) {
                const int err = errno;
                report_error(kCmd, a.mountpoint,
                             "cannot remove the dead mount left by a killed server");
                return err;
            }
            break;
        case MountState::kNotMounted:
            break;
    }
    for (const MountInfo& m : famfs_mounts()) {
        if (absolute_lexical(m.device) == absolute_lexical(a.device)) {
            const bool dead = mount_state(m.mountpoint) == MountState::kDead;
            report_error(kCmd, a.device,
                         "already mounted at " + m.mountpoint +
                             (dead ? " (its server is dead: famfs umount " + m.mountpoint + ")"
                                   : std::string()));
            return EBUSY;
        }
    }
    return 0;
}

// "12 files and 3 directories" as the log holds them now (the server
// replays the same log); a damaged log is the server's to report.
std::string describe_contents(const Volume& vol) {
    auto st = vol.load();
    if (!st) return "log unreadable";
    const auto count = [](uint64_t n, const char* one, const char* many) {
        return std::to_string(n) + " " + (n == 1 ? one : many);
    };
    std::string out = count(st->ns.files(), "file", "files") + " and " +
                      count(st->ns.dirs(), "directory", "directories");
    if (st->invalid_index)
        out +=
            " (the log is damaged at entry " + std::to_string(*st->invalid_index) + ": famfs fsck)";
    return out;
}

int run_fused(const MountArgs& a) {
    const std::string fused = fused_path();
    std::vector<std::string> words{fused};
    words.insert(words.end(), a.server_flags.begin(), a.server_flags.end());
    words.push_back(a.device);
    words.push_back(a.mountpoint);
    std::vector<char*> args;
    for (auto& w : words) args.push_back(w.data());
    args.push_back(nullptr);
    if (a.debug) {
        // Foreground: this process becomes the server.
        execvp(args[0], args.data());
        const int err = errno;
        report_error(kCmd, fused, "cannot start the FUSE server");
        return err;
    }
    const pid_t pid = fork();
    if (pid < 0) return errno;
    if (pid == 0) {
        execvp(args[0], args.data());
        std::perror(fused.c_str());
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    // famfs_fused exits 0 once it has mounted and detached.
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    report_error(kCmd, a.device, "the FUSE server failed to mount it on " + a.mountpoint);
    return WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
}

}  // namespace

int cmd_mount(const GlobalOptions& g, int argc, char** argv) {
    MountArgs a;
    if (int rc = parse_mount_args(argc, argv, a)) return rc < 0 ? 0 : rc;
    if (a.nofuse) {
        report_error(kCmd, a.device, kNoStandaloneModule);
        return ENODEV;
    }
    // Superblock and log header, reported here before anything is mounted.
    auto vol = Volume::open(a.device, Access::kReadOnly);
    if (!vol) {
        report_error(kCmd, a.device, vol.error());
        return vol.error().code;
    }
    const Role role = vol.value()->role();
    const std::string contents = describe_contents(**vol);
    vol.value().reset();
    struct stat st {};
    if (stat(a.mountpoint.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
        report_error(kCmd, a.mountpoint, "not a directory");
        return ENOTDIR;
    }
    if (int err = check_clashes(a)) return err;
    if (stat(a.mountpoint.c_str(), &st) != 0) {
        report_error(kCmd, a.mountpoint,
                     "mount point does not exist (create it with: mkdir -p " + a.mountpoint + ")");
        return ENOENT;
    }
    if (g.dryrun) {
        std::printf("famfs mount: would mount %s on %s as %s\n", a.device.c_str(),
                    a.mountpoint.c_str(), to_string(role));
        return 0;
    }
    if (int err = run_fused(a)) return err;
    std::printf("famfs mount: mounted %s on %s as %s, %s\n", a.device.c_str(), a.mountpoint.c_str(),
                to_string(role), contents.c_str());
    return 0;
}

}  // namespace famfs::cli
