// famfs status: the state of the famfs servers behind one mount (or all
// famfs mounts): role, device, entries replayed, follow lag and errors, as
// the server publishes them in .meta/.status.
#include <unistd.h>

#include <cstdio>

#include "args.h"
#include "commands.h"
#include "famfs_mount_util.h"
#include "report.h"

namespace famfs::cli {

namespace {

constexpr const char* kCmd = "status";

// 0 when the server answered, else an errno.
int show(const MountInfo& m) {
    if (mount_state(m.mountpoint) == MountState::kDead) {
        report_error(kCmd, m.mountpoint,
                     "the FUSE server is not running (killed?); run famfs umount to clean up");
        return ENOTCONN;
    }
    auto st = read_server_status(m.mountpoint);
    if (!st) {
        report_error(kCmd, m.mountpoint, st.error());
        return st.error().code;
    }
    std::printf("%s", st->text.c_str());
    return 0;
}

}  // namespace

int cmd_status(const GlobalOptions& g, int argc, char** argv) {
    (void)g;
    reset_getopt();
    for (int c; (c = getopt(argc, argv, "+h?")) != -1;) {
        std::fprintf(help_requested(c) ? stdout : stderr, "usage: famfs status [MOUNTPOINT]\n");
        return help_requested(c) ? 0 : kExitUsage;
    }
    if (argc - optind > 1) {
        std::fprintf(stderr, "usage: famfs status [MOUNTPOINT]\n");
        return kExitUsage;
    }
    if (argc - optind == 1) {
        const std::string mnt = absolute_lexical(argv[optind]);
        auto m = famfs_mount_at(mnt);
        if (!m) {
            report_error(kCmd, mnt, "not a famfs mount point");
            return EINVAL;
        }
        return show(*m);
    }
    int failures = 0;
    const auto mounts = famfs_mounts();
    if (mounts.empty()) std::printf("no famfs mounts\n");
    for (size_t i = 0; i < mounts.size(); i++) {
        if (i) std::printf("\n");
        failures += show(mounts[i]) ? 1 : 0;
    }
    return failures;
}

}  // namespace famfs::cli
