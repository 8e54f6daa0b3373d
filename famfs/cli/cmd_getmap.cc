// famfs getmap: prints a file's extents. Exit 0 for a mapped famfs file,
// 1 when the file is not in famfs, 2 for a famfs file without a valid map,
// EISDIR for a directory and ENOENT for a missing path.
#include <getopt.h>
#include <sys/stat.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "report.h"
#include "target.h"
#include "volumes.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "getmap";
constexpr int kNotFamfs = 1;
constexpr int kNotMapped = 2;

void usage(FILE* out) {
    std::fprintf(out, "usage: famfs getmap [-q|--quiet] FILE\n");
}

void print_extents(const std::vector<omf::Extent>& list, const char* indent) {
    for (const omf::Extent& e : list) {
        std::printf("%s0x%" PRIx64 "\t%" PRIu64 "\n", indent, e.offset, e.len);
    }
}

// Offsets in hex, lengths in decimal, as the reference tool prints them.
void print_map(const std::string& shown, const omf::FileEntry& f) {
    std::printf("File:     %s\n\tsize:    %" PRIu64 "\n", shown.c_str(), f.size);
    if (f.ext_type == omf::ExtentType::kSimple) {
        std::printf("\textents: %zu\n", f.extents.size());
        print_extents(f.extents, "\t\t");
        return;
    }
    const omf::Interleave& il = f.interleave;
    std::printf("\tinterleaved: nstrips %" PRIu64 ", chunk_size %" PRIu64 "\n\tstrips: %zu\n",
                il.nstrips, il.chunk_size, il.strips.size());
    print_extents(il.strips, "\t\t");
}

// What the path is on the local file system, before famfs is asked.
std::optional<int> local_kind(const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        report_error(kCmd, path, std::strerror(err));
        return err;
    }
    if (S_ISDIR(st.st_mode)) return report_error(kCmd, path, "is a directory"), EISDIR;
    return std::nullopt;
}

}  // namespace

int cmd_getmap(const GlobalOptions& g, int argc, char** argv) {
    bool quiet = false;
    if (auto stop = parse_flag_only(argc, argv, usage, 'q', "quiet", quiet)) return *stop;
    if (argc - optind != 1) return usage(stderr), kExitUsage;
    const std::string arg = argv[optind];
    if (g.device.empty()) {
        if (auto kind = local_kind(arg)) return *kind;
    }
    auto t = resolve_target(g, arg);
    if (!t) return report_error(kCmd, arg, "not in a famfs file system"), kNotFamfs;
    Volumes volumes(Access::kReadOnly);
    auto node = volumes.lookup(*t);
    if (!node && t->mounted()) {
        // .meta/.superblock and .meta/.log: device memory at fixed places.
        if (auto meta = volumes.open_file(*t)) {
            if (!quiet) print_map(arg, meta->map.entry());
            return 0;
        }
    }
    if (!node) {
        const bool missing = node.error().code == ENOENT;
        report_error(kCmd, arg, node.error(), t->relpath);
        return missing && !t->mounted() ? ENOENT : kNotMapped;
    }
    if ((*node)->is_dir) return report_error(kCmd, arg, "is a directory"), EISDIR;
    const omf::FileEntry& f = (*node)->file;
    if (auto s = validate_file_map(f, volumes.load(t->device)->vol->superblock()); !s) {
        return report_error(kCmd, arg, s.error(), t->relpath), kNotMapped;
    }
    if (!quiet) print_map(arg, f);
    return 0;
}

}  // namespace famfs::cli
