// famfs mkmeta: the reference tool's legacy step that made the standalone
// kernel module's .meta files. Here `famfs mount` serves .meta/.superblock
// and .meta/.log itself, so there is nothing to make; the command checks
// that DEVICE holds a valid famfs superblock and says so, as scripts that
// still call it expect it to succeed on a good device.
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "famfs/volume.h"
#include "report.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "mkmeta";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs mkmeta [-v] DEVICE\n"
                 "Legacy (standalone famfs): famfs mount serves the .meta files; this only\n"
                 "checks that DEVICE holds a famfs file system.\n");
}

}  // namespace

int cmd_mkmeta(const GlobalOptions& g, int argc, char** argv) {
    bool verbose = false;
    if (auto stop = parse_flag_only(argc, argv, usage, 'v', "verbose", verbose)) return *stop;
    const int args = argc - optind;
    if (args > 1 || (args == 0 && g.device.empty())) return usage(stderr), kExitUsage;
    const std::string device = args == 1 ? argv[optind] : g.device;
    auto vol = Volume::open(device, Access::kReadOnly);
    if (!vol) return report_error(kCmd, device, vol.error()), exit_status(vol.error().code);
    std::printf("famfs mkmeta: %s: a famfs file system; famfs mount serves its .meta files\n",
                device.c_str());
    return 0;
}

}  // namespace famfs::cli
