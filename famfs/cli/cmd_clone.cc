// famfs clone: test only. Logs DEST with SRC's extents, a deliberate
// cross-link that fsck must report.
#include <getopt.h>

#include <cstdio>

#include "args.h"
#include "commands.h"
#include "famfs/volume.h"
#include "report.h"
#include "target.h"

namespace famfs::cli {
namespace {

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs clone [-v] SRC DEST\n"
                 "Test only: logs DEST with SRC's extents (a cross-link fsck reports).\n"
                 "  -v, --verbose  accepted for compatibility\n");
}

}  // namespace

int cmd_clone(const GlobalOptions& g, int argc, char** argv) {
    bool verbose = false;  // the reference tool takes -v and says nothing more either
    if (auto stop = parse_flag_only(argc, argv, usage, 'v', "verbose", verbose)) return *stop;
    if (argc - optind != 2) return usage(stderr), kExitUsage;
    const char* src_arg = argv[optind];
    const char* dst_arg = argv[optind + 1];
    auto src = resolve_target(g, src_arg);
    if (!src) return report_error("clone", src_arg, src.error()), 1;
    auto dst = resolve_target(g, dst_arg);
    if (!dst) return report_error("clone", dst_arg, dst.error()), 1;
    if (src->device != dst->device) {
        return report_error("clone", dst_arg, "SRC and DEST are on different devices"), 1;
    }
    auto vol = Volume::open(src->device, Access::kReadWrite);
    if (!vol) return report_error("clone", src_arg, vol.error()), 1;
    if (auto s = (*vol)->require_master(); !s) {
        return report_error("clone", dst_arg, master_only_reason(s.error())), 1;
    }
    if (g.dryrun) return 0;
    if (auto s = (*vol)->clone(src->relpath, dst->relpath); !s) {
        return report_error("clone", dst_arg, s.error(), dst->relpath), exit_status(s.error().code);
    }
    reveal_in_mount(*dst);
    return 0;
}

}  // namespace famfs::cli
