// mkfs.famfs: formats a memory device (or a regular file standing in for
// one). Exit 0 ok, 1 usage, 2 any failure.
#include <getopt.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "args.h"
#include "commands.h"
#include "device_use.h"
#include "famfs/device.h"
#include "famfs/escape.h"
#include "famfs/fsck.h"
#include "famfs/sizes.h"
#include "famfs/volume.h"
#include "famfs_version.h"
#include "fuse_mode.h"
#include "report.h"

namespace famfs::cli {
namespace {

constexpr int kExitFailure = 2;

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: mkfs.famfs [-f] [-k] [-l LOGLEN] [-v] [--size SIZE] [--allow-small] "
                 "DEVICE\n"
                 "       mkfs.famfs --help | --version\n"
                 "  -f, --force      overwrite an existing superblock\n"
                 "  -k, --kill       with -f: only invalidate the superblock (zero its magic)\n"
                 "  -l, --loglen     log length, a power of two >= 8m (default 8m)\n"
                 "  -v, --verbose    add the full fsck report of the new file system\n"
                 "  --size SIZE      create or resize DEVICE as a regular file of SIZE bytes\n"
                 "  --allow-small    accept a device smaller than 4 GiB (tests, labs)\n"
                 "  --fuse, -F, --nofuse\n"
                 "                   accepted for compatibility: the device is formatted\n"
                 "                   directly, the same for the FUSE server and the\n"
                 "                   standalone kernel module\n");
}

int fail(const std::string& object, const std::string& reason) {
    std::fprintf(stderr, "mkfs.famfs: %s: %s\n", escaped(object).c_str(), escaped(reason).c_str());
    return kExitFailure;
}

int usage_error(const std::string& reason) {
    std::fprintf(stderr, "mkfs.famfs: %s\n", reason.c_str());
    usage(stderr);
    return kExitUsage;
}

bool power_of_two(uint64_t v) {
    return v != 0 && (v & (v - 1)) == 0;
}

// What was made, in the gist of the fsck report the reference prints after
// mkfs: the size, the room for files, the identities. -v adds the full
// fsck report.
int describe(const std::string& device, bool verbose) {
    auto vol = Volume::open(device, Access::kReadOnly);
    FsckOptions fo;
    fo.human = true;
    fo.verbose = verbose;
    auto r = vol ? fsck(**vol, fo) : Result<FsckReport>(vol.error());
    if (!r) return fail(device, "formatted, but cannot be read back: " + explain(r.error()));
    const omf::Superblock& sb = r->sb;
    std::printf("mkfs.famfs: %s: made a famfs file system of %s\n", escaped(device).c_str(),
                human_size(sb.dev_size).c_str());
    std::printf("  free space:  %s, %llu allocation units of %s (every file takes at least one)\n",
                human_size(r->free).c_str(),
                static_cast<unsigned long long>(r->free / sb.alloc_unit),
                human_size(sb.alloc_unit).c_str());
    std::printf("  log:         %s, room for %llu files and directories\n",
                human_size(sb.log_len).c_str(), static_cast<unsigned long long>(r->capacity));
    std::printf("  fs uuid:     %s\n", omf::uuid_to_string(sb.fs_uuid).c_str());
    std::printf("  master:      %s (system uuid %s)\n",
                r->role == Role::kMaster ? "this host" : "another host",
                omf::uuid_to_string(sb.system_uuid).c_str());
    if (verbose) std::printf("\n%s", format_fsck(*r, fo).c_str());
    return 0;
}

enum LongOnly { kSize = 0x100, kAllowSmall, kFuseOpt, kVersionOpt };

}  // namespace

int mkfs_main(int argc, char** argv) {
    MkfsOptions opt;
    bool verbose = false, nofuse = false;
    static const option longopts[] = {{"force", no_argument, nullptr, 'f'},
                                      {"kill", no_argument, nullptr, 'k'},
                                      {"loglen", required_argument, nullptr, 'l'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {"size", required_argument, nullptr, kSize},
                                      {"allow-small", no_argument, nullptr, kAllowSmall},
                                      {"fuse", no_argument, nullptr, kFuseOpt},
                                      {"nofuse", no_argument, nullptr, 'F'},
                                      {"version", no_argument, nullptr, kVersionOpt},
                                      {nullptr, 0, nullptr, 0}};
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, "fFkl:vh?", longopts, nullptr)) != -1;) {
        const std::string arg = optarg ? optarg : "";
        switch (c) {
            case 'f':
                opt.force = true;
                break;
            case 'k':
                opt.kill = true;
                break;
            case 'v':
                verbose = true;
                break;
            case kAllowSmall:
                opt.allow_small = true;
                break;
            case kFuseOpt:
                nofuse = false;
                break;
            case 'F':
                nofuse = true;
                break;
            case kVersionOpt:
                std::printf("mkfs.famfs %s\n", famfs::kVersion);
                return 0;
            case 'l': {
                auto v = parse_size_arg(arg, "log length");
                if (!v || !power_of_two(*v) || *v < omf::kMinLogLen) {
                    return usage_error("invalid log length '" + arg +
                                       "' (a power of two >= 8m expected)");
                }
                opt.log_len = *v;
                break;
            }
            case kSize: {
                auto v = parse_size_arg(arg, "device size");
                if (!v || *v == 0) return usage_error("invalid device size '" + arg + "'");
                opt.create_size = *v;
                break;
            }
            default:
                usage(help_requested(c, argv) ? stdout : stderr);
                return help_requested(c, argv) ? 0 : kExitUsage;
        }
    }
    if (optind + 1 != argc) return usage_error("exactly one DEVICE expected");
    if (opt.kill && !opt.force) return usage_error("-k (kill the superblock) needs -f");
    const std::string device = argv[optind];
    if (nofuse) note_nofuse_ignored("mkfs.famfs");
    if (::geteuid() != 0) return fail(device, "must be run as root");
    if (device_in_use(device)) {
        const std::string server = DeviceLock::holders(device, DeviceLock::Kind::kMount);
        return fail(device, "device is in use (mounted" +
                                (server.empty() ? std::string() : " by " + server) +
                                "); unmount it first");
    }
    if (auto s = mkfs(device, opt); !s) return fail(device, explain(s.error(), device));
    if (opt.kill) {
        std::printf("mkfs.famfs: %s: superblock invalidated\n", device.c_str());
        return 0;
    }
    return describe(device, verbose);
}

}  // namespace famfs::cli
