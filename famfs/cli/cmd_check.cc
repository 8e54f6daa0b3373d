// famfs check: every regular file in a mount must have a valid, in-bounds
// map in the log. Exit 0 when all do, else 1.
#include <getopt.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "args.h"
#include "commands.h"
#include "famfs/escape.h"
#include "famfs/meta_protocol.h"
#include "report.h"
#include "target.h"
#include "target_resolver.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "check";

void usage(FILE* out) {
    std::fprintf(out, "usage: famfs check [-v|--verbose] MOUNTPOINT\n");
}

struct Checker {
    const State& state;
    const omf::Superblock& sb;
    bool verbose;
    int bad = 0;
    int good = 0;

    void check(const std::string& shown, const std::string& relpath) {
        const Node* n = state.ns.lookup(relpath);
        Status s = n == nullptr ? make_error(ENOENT, "not in the famfs log")
                   : n->is_dir  ? make_error(EISDIR, "a directory in the log, a file in the mount")
                                : validate_file_map(n->file, sb);
        if (!s) {
            report_error(kCmd, shown, s.error(), relpath);
            ++bad;
            return;
        }
        ++good;
        if (verbose) std::printf("famfs check: %s: ok\n", escaped(shown).c_str());
    }
};

// Walks the mounted tree: what users see is what must be backed by the log.
void check_mounted(Checker& c, const Target& t) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path root = t.mount_path();
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
        // The server's own files (.meta/.superblock, .meta/.log, ...) are not logged.
        if (it.depth() == 0 && it->path().filename() == meta::kDir && t.relpath.empty()) {
            it.disable_recursion_pending();
            continue;
        }
        if (!it->is_regular_file(ec)) continue;
        const std::string rel = fs::relative(it->path(), fs::path(t.mountpoint), ec).string();
        c.check(it->path().string(), rel);
    }
    if (ec) report_error(kCmd, root.string(), ec.message()), ++c.bad;
}

void check_logged(Checker& c) {
    c.state.ns.for_each([&](const Node& n) {
        if (!n.is_dir) c.check(n.relpath(), n.relpath());
    });
}

}  // namespace

int cmd_check(const GlobalOptions& g, int argc, char** argv) {
    bool verbose = false;
    if (auto stop = parse_flag_only(argc, argv, usage, 'v', "verbose", verbose)) return *stop;
    const int args = argc - optind;
    if (args > 1 || (args == 0 && g.device.empty())) return usage(stderr), kExitUsage;
    const std::string arg = args == 1 ? argv[optind] : "";
    const std::string shown = args == 1 ? arg : g.device;  // what errors name
    auto t = resolve_target(g, arg);
    if (!t) return report_error(kCmd, shown, t.error()), 1;
    TargetResolver resolver(Access::kReadOnly);
    auto loaded = resolver.load(t->device);
    if (!loaded) return report_error(kCmd, shown, loaded.error()), 1;
    Checker checker{*loaded->state, loaded->vol->superblock(), verbose};
    if (t->mounted()) {
        check_mounted(checker, *t);
    } else {
        check_logged(checker);
    }
    if (verbose) std::printf("famfs check: %d files ok, %d bad\n", checker.good, checker.bad);
    return checker.bad == 0 ? 0 : 1;
}

}  // namespace famfs::cli
