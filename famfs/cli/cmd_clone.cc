// famfs clone: test only. Logs DEST with SRC's extents, a deliberate
// cross-link that fsck must report.
#include <cstdio>

#include "args.h"
#include "commands.h"
#include "famfs/volume.h"
#include "report.h"
#include "target.h"

namespace famfs::cli {

int cmd_clone(const GlobalOptions& g, int argc, char** argv) {
    if (argc == 2 && (std::string(argv[1]) == "-h" || std::string(argv[1]) == "-?")) {
        std::printf(
            "usage: famfs clone SRC DEST\n"
            "Test only: logs DEST with SRC's extents (a cross-link fsck reports).\n");
        return 0;
    }
    if (argc != 3) {
        std::fprintf(stderr, "usage: famfs clone SRC DEST\n");
        return kExitUsage;
    }
    auto src = resolve_target(g, argv[1]);
    if (!src) return report_error("clone", argv[1], src.error()), 1;
    auto dst = resolve_target(g, argv[2]);
    if (!dst) return report_error("clone", argv[2], dst.error()), 1;
    if (src->device != dst->device) {
        return report_error("clone", argv[2], "SRC and DEST are on different devices"), 1;
    }
    auto vol = Volume::open(src->device, Access::kReadWrite);
    if (!vol) return report_error("clone", argv[1], vol.error()), 1;
    if (auto s = (*vol)->require_master(); !s) {
        return report_error("clone", argv[2], master_only_reason(s.error())), 1;
    }
    if (g.dryrun) return 0;
    if (auto s = (*vol)->clone(src->relpath, dst->relpath); !s) {
        return report_error("clone", argv[2], s.error(), dst->relpath), exit_status(s.error().code);
    }
    reveal_in_mount(*dst);
    return 0;
}

}  // namespace famfs::cli
