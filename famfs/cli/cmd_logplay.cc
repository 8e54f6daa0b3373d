// famfs logplay: makes a mount catch up with the log now and reports what it
// added. The servers follow the log by themselves; this is the explicit
// "play it now" of the reference tools, and a way to see what was new.
#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>

#include "args.h"
#include "commands.h"
#include "famfs/escape.h"
#include "famfs/volume.h"
#include "famfs_mount_util.h"
#include "report.h"

namespace famfs::cli {

namespace {

constexpr const char* kCmd = "logplay";

void logplay_usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs logplay [-n] [-v] [-c] MOUNTPOINT | PATH-IN-MOUNT\n"
                 "  -n, --dryrun   list the log entries the mount has not played yet\n"
                 "  -v, --verbose  list every entry played\n"
                 "  -c, --client   play as a client (the server never writes metadata in\n"
                 "                 either role)\n"
                 "  -m, --mmap, -r, --read\n"
                 "                 accepted for compatibility (they exclude each other)\n");
}

struct Tally {
    uint64_t files = 0, dirs = 0, other = 0;
};

// Describes the log entries [from, to) of the device.
Result<Tally> describe(const std::string& device, uint64_t from, uint64_t to, bool verbose,
                       const char* verb) {
    auto vol = Volume::open(device, Access::kReadOnly);
    if (!vol) return vol.error();
    auto r = vol.value()->log().replay(from);
    if (!r) return r.error();
    Tally t;
    for (size_t i = 0; i < r->entries.size() && r->first + i < to; i++) {
        const auto& payload = r->entries[i].payload;
        std::string what;
        if (auto* f = std::get_if<omf::FileEntry>(&payload)) {
            t.files++;
            what = "file " + escaped(f->relpath) + " (" + std::to_string(f->size) + " bytes)";
        } else if (auto* d = std::get_if<omf::MkdirEntry>(&payload)) {
            t.dirs++;
            what = "directory " + escaped(d->relpath);
        } else {
            t.other++;
            what = "non-namespace entry";
        }
        if (verbose)
            std::printf("%s log entry %llu: %s\n", verb,
                        static_cast<unsigned long long>(r->first + i), what.c_str());
    }
    return t;
}

// The famfs mount `arg` is the mount point of, or lies inside.
std::optional<MountInfo> containing_mount(const std::string& arg) {
    // A mount point is found without touching it (its server may be dead).
    if (auto m = famfs_mount_at(absolute_lexical(arg))) return m;
    auto in = resolve_in_mount(arg);
    if (!in) return std::nullopt;
    return in->mount;
}

}  // namespace

int cmd_logplay(const GlobalOptions& g, int argc, char** argv) {
    static const option longopts[] = {{"dryrun", no_argument, nullptr, 'n'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"client", no_argument, nullptr, 'c'},
                                      {"mmap", no_argument, nullptr, 'm'},
                                      {"read", no_argument, nullptr, 'r'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    LogAccessFlags access;
    reset_getopt();
    bool dry = g.dryrun, verbose = false;
    for (int c; (c = getopt_long(argc, argv, "+nvcmrh?", longopts, nullptr)) != -1;) {
        if (access.take(c)) continue;
        if (c == 'n') {
            dry = true;
        } else if (c == 'v') {
            verbose = true;
        } else if (c != 'c') {
            logplay_usage(help_requested(c, argv) ? stdout : stderr);
            return help_requested(c, argv) ? 0 : kExitUsage;
        }
    }
    if (!access.check(kCmd) || argc - optind != 1) {
        logplay_usage(stderr);
        return kExitUsage;
    }
    const std::string arg = argv[optind];
    auto m = containing_mount(arg);
    if (!m) {
        report_error(kCmd, arg, "not in a famfs mount");
        return EINVAL;
    }
    const std::string mnt = m->mountpoint;
    auto before = read_server_status(mnt);
    if (!before) {
        report_error(kCmd, mnt, before.error());
        return before.error().code;
    }
    const uint64_t from = before->number("entries_replayed");
    if (!dry) {
        if (auto st = send_control(mnt, "catchup"); !st) {
            report_error(kCmd, mnt, st.error());
            return st.error().code;
        }
    }
    auto after = read_server_status(mnt);
    if (!after) {
        report_error(kCmd, mnt, after.error());
        return after.error().code;
    }
    const uint64_t to = dry ? after->number("log_next_index") : after->number("entries_replayed");
    const uint64_t log_end = std::max(to, after->number("log_next_index"));
    auto t =
        describe(m->device, from, dry ? UINT64_MAX : to, verbose, dry ? "would play" : "played");
    if (!t) {
        report_error(kCmd, m->device, t.error());
        return t.error().code;
    }
    const uint64_t new_errors =
        after->number("errors") - std::min(after->number("errors"), before->number("errors"));
    std::printf(
        "famfs logplay: %s: %s %llu new entries (%llu files, %llu directories); "
        "%llu entries in the log; %llu new errors\n",
        mnt.c_str(), dry ? "would play" : "played",
        static_cast<unsigned long long>(t->files + t->dirs + t->other),
        static_cast<unsigned long long>(t->files), static_cast<unsigned long long>(t->dirs),
        static_cast<unsigned long long>(log_end), static_cast<unsigned long long>(new_errors));
    if (new_errors) std::printf("%s", after->text.c_str());
    return exit_status(static_cast<int64_t>(new_errors));
}

}  // namespace famfs::cli
