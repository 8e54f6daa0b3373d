// famfs fsck: checks a file system given by device or by a path in its
// mount. A device that is mounted is checked through the mount (EBUSY).
#include <getopt.h>

#include <cstdio>

#include "args.h"
#include "commands.h"
#include "device_use.h"
#include "famfs/fsck.h"
#include "famfs/mounts.h"
#include "famfs/volume.h"
#include "report.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "fsck";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs fsck [-h|--human] [-v] [-B NBUCKETS] DEVICE | PATH-IN-MOUNT\n"
                 "  -h, --human  human-readable sizes\n"
                 "  -B           stripe buckets to report (default 4)\n");
}

// The device to check: from the mount containing `arg`, else `arg` itself
// as a device, which must not be mounted.
Result<std::string> device_to_check(const GlobalOptions& g, const std::string& arg) {
    std::string device = g.device.empty() ? arg : g.device;
    if (g.device.empty()) {
        if (auto in_mount = resolve_in_mount(arg)) return in_mount->mount.device;
    }
    if (device_in_use(device)) {
        return make_error(EBUSY, "device is mounted; check it through a path in its mount");
    }
    return device;
}

}  // namespace

int cmd_fsck(const GlobalOptions& g, int argc, char** argv) {
    FsckOptions opt;
    static const option longopts[] = {{"human", no_argument, nullptr, 'h'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"nbuckets", required_argument, nullptr, 'B'},
                                      {"help", no_argument, nullptr, '?'},
                                      {nullptr, 0, nullptr, 0}};
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, "hvB:?", longopts, nullptr)) != -1;) {
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
        } else {
            usage(help_requested(c, argv) ? stdout : stderr);
            return help_requested(c, argv) ? 0 : kExitUsage;
        }
    }
    const int args = argc - optind;
    if (args > 1 || (args == 0 && g.device.empty())) return usage(stderr), kExitUsage;
    const std::string arg = args == 1 ? argv[optind] : g.device;

    auto device = device_to_check(g, arg);
    if (!device) return report_error(kCmd, arg, device.error()), exit_status(device.error().code);
    auto vol = Volume::open(*device, Access::kReadOnly);
    if (!vol) return report_error(kCmd, arg, vol.error()), exit_status(vol.error().code);
    auto report = fsck(**vol, opt);
    if (!report) return report_error(kCmd, arg, report.error()), exit_status(report.error().code);
    std::fputs(format_fsck(*report, opt).c_str(), stdout);
    return exit_status(static_cast<int64_t>(report->errors()));
}

}  // namespace famfs::cli
