// famfs mkdir: logs directories (master only).
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "args.h"
#include "commands.h"
#include "famfs/volume.h"
#include "report.h"
#include "target.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "mkdir";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs mkdir [-p] [-m MODE] [-u UID] [-g GID] [-v] DIR...\n"
                 "  -p  create missing parents; an existing directory is not an error\n"
                 "  -m  permission bits in octal (default 0755, masked with the umask)\n");
}

int make_one(const GlobalOptions& g, const std::string& arg, uint32_t mode, uint32_t uid,
             uint32_t gid, bool parents, bool verbose) {
    auto t = resolve_target(g, arg);
    if (!t) return report_error(kCmd, arg, t.error()), 1;
    auto vol = Volume::open(t->device, g.dryrun ? Access::kReadOnly : Access::kReadWrite);
    if (!vol) return report_error(kCmd, arg, vol.error()), 1;
    if (auto s = (*vol)->require_master(); !s) {
        return report_error(kCmd, arg, master_only_reason(s.error())), 1;
    }
    if (t->relpath.empty()) {
        if (parents) return 0;
        return report_error(kCmd, arg, "the root directory already exists"), 1;
    }
    if (!g.dryrun) {
        if (auto s = (*vol)->mkdir(t->relpath, mode, uid, gid, parents); !s) {
            return report_error(kCmd, arg, s.error(), t->relpath), 1;
        }
        reveal_in_mount(*t);
    }
    if (verbose) std::printf("famfs mkdir: created %s\n", arg.c_str());
    return 0;
}

}  // namespace

int cmd_mkdir(const GlobalOptions& g, int argc, char** argv) {
    bool parents = false, verbose = false;
    uint32_t mode = 0755;
    uint32_t uid = static_cast<uint32_t>(::geteuid()), gid = static_cast<uint32_t>(::getegid());
    static const option longopts[] = {{"parents", no_argument, nullptr, 'p'},
                                      {"mode", required_argument, nullptr, 'm'},
                                      {"uid", required_argument, nullptr, 'u'},
                                      {"gid", required_argument, nullptr, 'g'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, "pm:u:g:vh?", longopts, nullptr)) != -1;) {
        const std::string arg = optarg ? optarg : "";
        Result<uint32_t> v = uint32_t{0};
        switch (c) {
            case 'p':
                parents = true;
                break;
            case 'v':
                verbose = true;
                break;
            case 'm':
                v = parse_mode(arg);
                mode = v ? *v : 0;
                break;
            case 'u':
                v = parse_id(arg, "uid");
                uid = v ? *v : 0;
                break;
            case 'g':
                v = parse_id(arg, "gid");
                gid = v ? *v : 0;
                break;
            default:
                usage(help_requested(c, argv) ? stdout : stderr);
                return help_requested(c, argv) ? 0 : kExitUsage;
        }
        if (!v) return report_problem(kCmd, v.error().message), kExitUsage;
    }
    if (optind == argc) return usage(stderr), kExitUsage;
    mode &= ~current_umask();
    int failed = 0;
    for (int i = optind; i < argc; ++i)
        failed += make_one(g, argv[i], mode, uid, gid, parents, verbose);
    return exit_status(failed);
}

}  // namespace famfs::cli
