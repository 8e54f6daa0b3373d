// famfs rm and famfs rmdir: log DELETE entries (master only,
// docs/delete.md). The name goes at once; the memory is reused only when
// every host is past the delete.
#include <getopt.h>

#include <cstdio>
#include <map>
#include <string>

#include "args.h"
#include "commands.h"
#include "famfs/volume.h"
#include "lifetime.h"
#include "report.h"
#include "target.h"

namespace famfs::cli {
namespace {

void rm_usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs rm [-r] [-v] PATH...\n"
                 "  -r  remove directories and everything in them\n"
                 "A deleted file's memory is reused only when every host is past the delete\n"
                 "(famfs hosts shows where each host is).\n");
}

void rmdir_usage(FILE* out) {
    std::fprintf(out, "usage: famfs rmdir [-v] DIR...\n");
}

// One Volume per device for the whole command: opening one replays the
// whole log, and `famfs rm DIR/*` names thousands of files on one device.
// A kept Volume catches up with the log under the append lock on every
// remove, as a fresh one would.
class Volumes {
  public:
    explicit Volumes(Access access) : access_(access) {}
    Result<Volume*> get(const std::string& device) {
        auto it = open_.find(device);
        if (it != open_.end()) return it->second;
        auto opened = Volume::open(device, access_);
        if (!opened) return opened.error();
        Volume* v = keep_until_exit(std::move(*opened));
        open_.emplace(device, v);
        return v;
    }

  private:
    Access access_;
    std::map<std::string, Volume*> open_;
};

// Clients refuse with EROFS, as a mount of theirs would.
int remove_one(const GlobalOptions& g, Volumes& volumes, const char* cmd, const std::string& arg,
               Volume::RemoveMode mode, bool verbose) {
    auto t = resolve_target(g, arg);
    if (!t) return report_error(cmd, arg, t.error()), 1;
    if (t->relpath.empty())
        return report_error(cmd, arg, "the root directory cannot be removed"), 1;
    auto vol = volumes.get(t->device);
    if (!vol) return report_error(cmd, arg, vol.error()), 1;
    if ((*vol)->role() != Role::kMaster)
        return report_error(cmd, arg, "read-only file system: this host is a client"), 1;
    if (!g.dryrun) {
        if (auto s = (*vol)->remove(t->relpath, mode); !s)
            return report_error(cmd, arg, s.error(), t->relpath), 1;
    }
    if (verbose) std::printf("famfs %s: removed %s\n", cmd, arg.c_str());
    return 0;
}

struct Parsed {
    bool recursive = false, verbose = false;
    int status = -1;  // >= 0: exit with it
};

Parsed parse(int argc, char** argv, bool rm) {
    static const option longopts[] = {{"recursive", no_argument, nullptr, 'r'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    Parsed p;
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, rm ? "rRvh?" : "vh?", longopts, nullptr)) != -1;) {
        if ((c == 'r' || c == 'R') && rm) {
            p.recursive = true;
        } else if (c == 'v') {
            p.verbose = true;
        } else {
            const bool help = help_requested(c, argv);
            (rm ? rm_usage : rmdir_usage)(help ? stdout : stderr);
            p.status = help ? 0 : kExitUsage;
            return p;
        }
    }
    if (optind == argc) {
        (rm ? rm_usage : rmdir_usage)(stderr);
        p.status = kExitUsage;
    }
    return p;
}

}  // namespace

int cmd_rm(const GlobalOptions& g, int argc, char** argv) {
    const Parsed p = parse(argc, argv, true);
    if (p.status >= 0) return p.status;
    const auto mode = p.recursive ? Volume::RemoveMode::kRecursive : Volume::RemoveMode::kFile;
    Volumes volumes(g.dryrun ? Access::kReadOnly : Access::kReadWrite);
    int failed = 0;
    for (int i = optind; i < argc; ++i)
        failed += remove_one(g, volumes, "rm", argv[i], mode, p.verbose);
    return exit_status(failed);
}

int cmd_rmdir(const GlobalOptions& g, int argc, char** argv) {
    const Parsed p = parse(argc, argv, false);
    if (p.status >= 0) return p.status;
    Volumes volumes(g.dryrun ? Access::kReadOnly : Access::kReadWrite);
    int failed = 0;
    for (int i = optind; i < argc; ++i)
        failed += remove_one(g, volumes, "rmdir", argv[i], Volume::RemoveMode::kEmptyDirectory,
                             p.verbose);
    return exit_status(failed);
}

}  // namespace famfs::cli
