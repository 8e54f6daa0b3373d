// famfs fsck: checks a file system given by device or by a path in its
// mount. A device that is mounted is checked through the mount (EBUSY).
#include <getopt.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "args.h"
#include "commands.h"
#include "device_use.h"
#include "famfs/fsck.h"
#include "famfs/host_table.h"
#include "famfs/mounts.h"
#include "famfs/volume.h"
#include "fuse_mode.h"
#include "mount_snapshot.h"
#include "pending_report.h"
#include "report.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "fsck";
constexpr int kFuseOpt = 0x100;  // --fuse has no short form: -f is --force

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs fsck [-h|--human] [-v] [-B NBUCKETS] DEVICE | PATH-IN-MOUNT\n"
                 "       famfs fsck --help | -?    (this text: -h means --human here)\n"
                 "  -h, --human     human-readable sizes\n"
                 "  -v, --verbose   more detail\n"
                 "  -B, --nbuckets  stripe buckets to report (default 4)\n"
                 "  -f, --force     check a mounted device directly (read-only)\n"
                 "  -m, --mmap, -r, --read\n"
                 "                  accepted for compatibility (they exclude each other)\n"
                 "  --fuse, -F, --nofuse\n"
                 "                  accepted for compatibility: the device is read directly\n");
}

struct ToCheck {
    std::string device;
    std::string mountpoint;  // when given by a path in its mount
};

// The device to check: from the mount containing `arg`, else `arg` itself
// as a device, which must not be mounted unless forced (fsck only reads).
Result<ToCheck> device_to_check(const GlobalOptions& g, const std::string& arg, bool force) {
    std::string device = g.device.empty() ? arg : g.device;
    if (g.device.empty()) {
        if (auto in_mount = resolve_in_mount(arg))
            return ToCheck{in_mount->mount.device, in_mount->mount.mountpoint};
    }
    if (!force && device_in_use(device)) {
        return make_error(EBUSY, "device is mounted; check it through a path in its mount");
    }
    return ToCheck{device, ""};
}

// Only root may open a device. A mount's .meta files hold all that fsck
// reads, and the mount serves them to root only too (the log names every
// file), so they help only where the device node is out of reach.
// *copy: whether what was opened is such a copy (which has no host table).
Result<std::unique_ptr<Volume>> open_to_check(const ToCheck& c, bool* from_copy) {
    *from_copy = false;
    auto vol = Volume::open(c.device, Access::kReadOnly);
    const bool denied = !vol && (vol.error().code == EACCES || vol.error().code == EPERM);
    if (!denied || c.mountpoint.empty()) return vol;
    *from_copy = true;
    auto copy = metadata_snapshot(c.mountpoint);
    if (!copy && copy.error().code == EACCES) {
        return make_error(EACCES,
                          "fsck needs root: the device and the mount's "
                          ".meta/.superblock and .meta/.log are readable by root only");
    }
    if (!copy) return copy.error();
    return Volume::open(*copy, Access::kReadOnly);
}

// What each run of deleted space waits for, in the words of `famfs hosts`:
// the figure alone does not say whether space will come back, or which
// host holds it.
void print_pending_runs(Volume& vol, bool from_copy) {
    auto st = vol.load();
    if (!st || st->alloc.pending().empty()) return;
    std::printf("Pending reclaim, run by run:\n");
    if (from_copy) {
        std::printf("  unknown: the host table is on the device, which this user may not read\n\n");
        return;
    }
    auto table = read_host_table(vol.device());
    if (!table) {
        std::printf("  unknown: host table unreadable: %s\n\n", table.error().message.c_str());
        return;
    }
    std::fputs(pending_runs_text(*st, *table, vol.superblock().fs_uuid).c_str(), stdout);
    std::printf("\n");
}

}  // namespace

int cmd_fsck(const GlobalOptions& g, int argc, char** argv) {
    FsckOptions opt;
    static const option longopts[] = {
        {"human", no_argument, nullptr, 'h'},          {"verbose", no_argument, nullptr, 'v'},
        {"nbuckets", required_argument, nullptr, 'B'}, {"force", no_argument, nullptr, 'f'},
        {"mmap", no_argument, nullptr, 'm'},           {"read", no_argument, nullptr, 'r'},
        {"help", no_argument, nullptr, '?'},           {"fuse", no_argument, nullptr, kFuseOpt},
        {"nofuse", no_argument, nullptr, 'F'},         {nullptr, 0, nullptr, 0}};
    LogAccessFlags access;
    bool force = false, nofuse = false;
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, "hvB:fFmr?", longopts, nullptr)) != -1;) {
        if (access.take(c)) continue;
        if (c == kFuseOpt || c == 'F') {
            nofuse = c == 'F';
            continue;
        }
        if (c == 'h') {
            opt.human = true;
        } else if (c == 'v') {
            opt.verbose = true;
        } else if (c == 'B') {
            auto n = parse_number(optarg, "bucket count");
            if (!n || *n == 0 || *n > 64) {
                report_problem(kCmd, std::string("invalid bucket count '") + optarg + "' (1..64)");
                return kExitUsage;
            }
            opt.nbuckets = *n;
        } else if (c == 'f') {
            force = true;
        } else {
            usage(help_requested(c, argv) ? stdout : stderr);
            return help_requested(c, argv) ? 0 : kExitUsage;
        }
    }
    if (!access.check(kCmd)) return usage(stderr), kExitUsage;
    if (nofuse) note_nofuse_ignored("famfs fsck");
    const int args = argc - optind;
    if (args > 1 || (args == 0 && g.device.empty())) return usage(stderr), kExitUsage;
    const std::string arg = args == 1 ? argv[optind] : g.device;

    auto target = device_to_check(g, arg, force);
    if (!target) return report_error(kCmd, arg, target.error()), exit_status(target.error().code);
    bool from_copy = false;
    auto vol = open_to_check(*target, &from_copy);
    if (!vol) return report_error(kCmd, arg, vol.error()), exit_status(vol.error().code);
    auto report = fsck(**vol, opt);
    if (!report) return report_error(kCmd, arg, report.error()), exit_status(report.error().code);
    std::fputs(format_fsck(*report, opt).c_str(), stdout);
    print_pending_runs(**vol, from_copy);
    return exit_status(static_cast<int64_t>(std::min<uint64_t>(report->errors(), INT64_MAX)));
}

}  // namespace famfs::cli
