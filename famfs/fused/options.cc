#include <getopt.h>

#include <cstdlib>
#include <string>

#include "session.h"

namespace famfs::fused {

const char* usage() {
    return "usage: famfs_fused [-f] [-d] [-v] [-t SECS] [-u] [-p] [-c] [-n] [-b] [-a] DEVICE "
           "MOUNTPOINT\n"
           "  -f  stay in the foreground\n"
           "  -d  foreground, single-threaded, libfuse debug output\n"
           "  -v  verbose\n"
           "  -t  attribute and entry timeout in seconds (default 1)\n"
           "  -u  no allow_other\n"
           "  -p  no default_permissions\n"
           "  -c  cached I/O only: never open files with direct I/O\n"
           "  -n  do not follow the log (new entries appear on lookup misses only)\n"
           "  -b  copy read replies through a buffer on every kind of device\n"
           "  -a  serve data requests on whatever CPU reads them, not the requester's\n";
}

Result<ServerOptions> parse_options(int argc, char** argv) {
    ServerOptions opt;
    optind = 1;
    int c;
    while ((c = getopt(argc, argv, "+fdvt:uphcnba")) != -1) {
        switch (c) {
            case 'f':
                opt.foreground = true;
                break;
            case 'd':
                opt.debug = opt.foreground = true;
                break;
            case 'v':
                opt.verbose = true;
                break;
            case 't': {
                char* end = nullptr;
                opt.timeout_secs = std::strtod(optarg, &end);
                if (end == optarg || *end != '\0' || opt.timeout_secs < 0) {
                    return make_error(EINVAL, std::string("-t ") + optarg +
                                                  ": timeout must be a number of seconds >= 0");
                }
                break;
            }
            case 'u':
                opt.allow_other = false;
                break;
            case 'p':
                opt.default_permissions = false;
                break;
            case 'c':
                opt.direct_io = false;
                break;
            case 'n':
                opt.follow = false;
                break;
            case 'b':
                opt.bounce_reads = true;
                break;
            case 'a':
                opt.serve_on_requester_cpu = false;
                break;
            default:
                return make_error(EINVAL, usage());
        }
    }
    if (argc - optind != 2) return make_error(EINVAL, usage());
    opt.device = argv[optind];
    opt.mountpoint = argv[optind + 1];
    return opt;
}

}  // namespace famfs::fused
