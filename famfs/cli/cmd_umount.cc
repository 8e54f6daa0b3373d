// famfs umount: unmounts a famfs mount and waits for its server to exit, so
// the device is free (for mkfs, fsck by device) when the command returns. A
// mount whose server was killed is detached lazily.
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "args.h"
#include "commands.h"
#include "famfs/meta_protocol.h"
#include "mount_server.h"
#include "report.h"

namespace famfs::cli {

namespace {

constexpr const char* kCmd = "umount";
constexpr std::chrono::seconds kServerExitWait{10};

// The daemon is not our child: it has exited once it is gone or a zombie
// waiting for init to reap it.
bool exited(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!std::getline(stat, text)) return true;
    const size_t paren = text.rfind(')');
    return paren == std::string::npos || text.compare(paren, 3, ") Z") == 0;
}

void wait_for_exit(pid_t pid) {
    const auto deadline = std::chrono::steady_clock::now() + kServerExitWait;
    while (!exited(pid) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

}  // namespace

int cmd_umount(const GlobalOptions& g, int argc, char** argv) {
    reset_getopt();
    bool verbose = false;
    for (int c; (c = getopt(argc, argv, "+vh?")) != -1;) {
        if (c == 'v') {
            verbose = true;
            continue;
        }
        std::fprintf(help_requested(c) ? stdout : stderr, "usage: famfs umount [-v] MOUNTPOINT\n");
        return help_requested(c) ? 0 : kExitUsage;
    }
    if (argc - optind != 1) {
        std::fprintf(stderr, "usage: famfs umount [-v] MOUNTPOINT\n");
        return kExitUsage;
    }
    const std::string mnt = absolute_lexical(argv[optind]);
    if (!famfs_mount_at(mnt)) {
        report_error(kCmd, mnt, "not a famfs mount point");
        return EINVAL;
    }
    const bool dead = mount_state(mnt) == MountState::kDead;
    pid_t server = 0;
    if (!dead) {
        if (auto st = read_server_status(mnt))
            server = static_cast<pid_t>(st->number(meta::kKeyPid));
    }
    if (g.dryrun) {
        std::printf("famfs umount: would unmount %s\n", mnt.c_str());
        return 0;
    }
    int rc = umount2(mnt.c_str(), dead ? MNT_DETACH : 0);
    if (rc != 0 && errno == EBUSY) {
        report_error(kCmd, mnt, "busy; detaching it lazily (it goes when the last user leaves)");
        rc = umount2(mnt.c_str(), MNT_DETACH);
    }
    if (rc != 0) {
        const int err = errno;
        report_error(kCmd, mnt, std::strerror(err));
        return err;
    }
    if (server > 0) wait_for_exit(server);
    if (verbose) std::printf("famfs umount: %s unmounted\n", mnt.c_str());
    return 0;
}

}  // namespace famfs::cli
