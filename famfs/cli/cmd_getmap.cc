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
#include "famfs/escape.h"
#include "report.h"
#include "target.h"
#include "target_resolver.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "getmap";
constexpr int kNotFamfs = 1;
constexpr int kNotMapped = 2;

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs getmap [-q|--quiet] [-c|--continue] FILE...\n"
                 "  -c  go on after a file that is not a mapped famfs file\n");
}

void print_extents(const std::vector<omf::Extent>& list, const char* indent) {
    for (const omf::Extent& e : list) {
        std::printf("%s0x%" PRIx64 "\t%" PRIu64 "\n", indent, e.offset, e.len);
    }
}

// Offsets in hex, lengths in decimal, as the reference tool prints them.
void print_map(const std::string& shown, const omf::FileEntry& f) {
    std::printf("File:     %s\n\tsize:    %" PRIu64 "\n", escaped(shown).c_str(), f.size);
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

// One FILE: its exit code (0 when mapped, the rest as in the header).
int getmap_one(const GlobalOptions& g, TargetResolver& resolver, const std::string& arg,
               bool quiet) {
    if (g.device.empty()) {
        if (auto kind = local_kind(arg)) return *kind;
    }
    auto t = resolve_target(g, arg);
    if (!t) return report_error(kCmd, arg, "not in a famfs file system"), kNotFamfs;
    auto node = resolver.lookup(*t);
    if (!node && t->mounted()) {
        // .meta/.superblock and .meta/.log: device memory at fixed places.
        if (auto meta = resolver.open_file(*t)) {
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
    if (auto s = validate_file_map(f, resolver.load(t->device)->vol->superblock()); !s) {
        return report_error(kCmd, arg, s.error(), t->relpath), kNotMapped;
    }
    if (!quiet) print_map(arg, f);
    return 0;
}

}  // namespace

// Several FILEs, as the reference tool takes them: it stops at the first
// that is not a mapped famfs file and exits with that file's code, or with
// -c goes on and exits with the first such code.
int cmd_getmap(const GlobalOptions& g, int argc, char** argv) {
    static const option longopts[] = {{"quiet", no_argument, nullptr, 'q'},
                                      {"continue", no_argument, nullptr, 'c'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    bool quiet = false, keep_going = false;
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, "qch?", longopts, nullptr)) != -1;) {
        if (c == 'q') {
            quiet = true;
        } else if (c == 'c') {
            keep_going = true;
        } else {
            usage(help_requested(c, argv) ? stdout : stderr);
            return help_requested(c, argv) ? 0 : kExitUsage;
        }
    }
    if (optind == argc) return usage(stderr), kExitUsage;
    TargetResolver resolver(Access::kReadOnly);
    int first_failure = 0;
    for (int i = optind; i < argc; ++i) {
        const int rc = getmap_one(g, resolver, argv[i], quiet);
        if (rc != 0 && first_failure == 0) first_failure = rc;
        if (rc != 0 && !keep_going) break;
    }
    return first_failure;
}

}  // namespace famfs::cli
