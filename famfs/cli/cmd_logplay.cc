// famfs logplay: makes a mount catch up with the log now and reports what it
// added. The servers follow the log by themselves; this is the explicit
// "play it now" of the reference tools, and a way to see what was new.
// With --shadow it plays the log into the reference's shadow tree instead
// (shadow_tree.h), from a mount's device or from --daxdev DEVICE.
#include <getopt.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <variant>

#include "args.h"
#include "commands.h"
#include "famfs/escape.h"
#include "famfs/meta_protocol.h"
#include "famfs/volume.h"
#include "mount_server.h"
#include "report.h"
#include "shadow_tree.h"

namespace famfs::cli {

namespace {

constexpr const char* kCmd = "logplay";

void logplay_usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs logplay [-n] [-v] [-c] MOUNTPOINT | PATH-IN-MOUNT\n"
                 "       famfs logplay --shadow DIR [-s] [-n] [-v] MOUNTPOINT | --daxdev DEVICE\n"
                 "       famfs logplay -S [-s] [-n] [-v] DIR MOUNTPOINT | --daxdev DEVICE\n"
                 "  -n, --dryrun   list the log entries the mount has not played yet\n"
                 "                 (with --shadow: what would be written)\n"
                 "  -v, --verbose  list every entry played (with --shadow: every file and\n"
                 "                 directory; -vv also prints each file's YAML)\n"
                 "  -c, --client   play as a client (the server never writes metadata in\n"
                 "                 either role)\n"
                 "  --shadow DIR   play the log into the reference's shadow tree instead: a\n"
                 "                 directory per famfs directory and a YAML file per famfs\n"
                 "                 file, in DIR if its path ends in /root, else in DIR/root\n"
                 "                 (which must exist); the mount itself is not touched\n"
                 "  -S             --shadow, with DIR as the first operand\n"
                 "  -s, --shadowtest\n"
                 "                 read every shadow file back, parse it and report where it\n"
                 "                 differs from the log\n"
                 "  -d, --daxdev DEVICE\n"
                 "                 with --shadow: read the log from DEVICE (mounted or not)\n"
                 "                 instead of from a mount\n"
                 "  -m, --mmap, -r, --read\n"
                 "                 accepted for compatibility (they exclude each other)\n");
}

struct Tally {
    uint64_t files = 0, dirs = 0, deletes = 0, other = 0;
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
        } else if (auto* del = std::get_if<omf::DeleteEntry>(&payload)) {
            t.deletes++;
            what = std::string("delete of ") +
                   (del->kind == omf::DeleteKind::kDirectory ? "directory " : "file ") +
                   escaped(del->relpath) + " (created by log entry " + std::to_string(del->target) +
                   ")";
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

struct ShadowRequest {
    std::string dir;     // --shadow DIR (or -S's first operand)
    std::string device;  // --daxdev DEVICE, or the mount's device
    ShadowOptions opt;
};

void print_shadow_summary(const std::string& root, const ShadowTally& t, uint64_t entries,
                          uint64_t refused, bool dry) {
    const auto n = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    std::printf(
        "famfs logplay: shadow tree %s: %llu log entries; %llu files (%llu %s, %llu %s, %llu "
        "unchanged); %llu directories (%llu %s, %llu existing); %llu entries refused; %llu "
        "errors\n",
        escaped(root).c_str(), n(entries), n(t.files_new + t.files_updated + t.files_same),
        n(t.files_new), dry ? "to create" : "created", n(t.files_updated),
        dry ? "to update" : "updated", n(t.files_same), n(t.dirs_new + t.dirs_same), n(t.dirs_new),
        dry ? "to create" : "created", n(t.dirs_same), n(refused), n(t.errors));
    if (t.files_removed > 0 || t.dirs_removed > 0)
        std::printf(
            "famfs logplay: shadows of deleted objects: %llu files and %llu directories %s\n",
            n(t.files_removed), n(t.dirs_removed), dry ? "to remove" : "removed");
    if (t.checked > 0 || t.mismatches > 0)
        std::printf("famfs logplay: shadowtest: %llu shadow files read back, %llu mismatches\n",
                    n(t.checked), n(t.mismatches));
}

// Plays the whole log of the device into the shadow tree: what a mount of
// it would show, entries the mount would refuse reported and left out.
int play_into_shadow(const ShadowRequest& req) {
    auto root = shadow_root(req.dir);
    if (!root) {
        report_error(kCmd, req.dir, root.error());
        return exit_status(root.error().code);
    }
    auto vol = Volume::open(req.device, Access::kReadOnly);
    if (!vol) {
        report_error(kCmd, req.device, vol.error());
        return exit_status(vol.error().code);
    }
    auto st = vol.value()->load();
    if (!st) {
        report_error(kCmd, req.device, st.error());
        return exit_status(st.error().code);
    }
    for (const Problem& p : st->ns.problems())
        report_error(kCmd, req.device,
                     "log entry " + std::to_string(p.index) + " (" + p.relpath +
                         ") is refused and left out of the shadow tree: " + p.reason);
    uint64_t damaged = 0;
    if (st->invalid_index) {
        damaged = 1;
        report_error(kCmd, req.device,
                     "log entry " + std::to_string(*st->invalid_index) +
                         " is invalid; entries from there on are not played: " +
                         (st->invalid_reason ? st->invalid_reason->message : ""));
    }
    const ShadowTally t = write_shadow_tree(st->ns, *root, req.opt);
    const uint64_t refused = st->ns.problems().size();
    print_shadow_summary(*root, t, st->ns.applied(), refused, req.opt.dry_run);
    return exit_status(static_cast<int64_t>(t.errors + t.mismatches + refused + damaged));
}

// After the options: where the shadow tree goes and where the log comes
// from, or the exit status of a usage error.
std::variant<ShadowRequest, int> shadow_request(const GlobalOptions& g, int argc, char** argv,
                                                std::string dir, bool dir_operand,
                                                std::string device) {
    const auto usage_error = [](const std::string& why) {
        report_problem(kCmd, why);
        logplay_usage(stderr);
        return kExitUsage;
    };
    int at = optind;
    if (dir_operand) {
        if (at >= argc) return usage_error("-S needs the shadow directory as the first operand");
        dir = argv[at++];
    }
    if (!g.device.empty()) {
        if (!device.empty() && device != g.device)
            return usage_error("--device " + g.device + " and --daxdev " + device +
                               " name different devices");
        device = g.device;
    }
    if (device.empty()) {
        if (argc - at != 1)
            return usage_error(
                "name the mount point (or a path in it), or the device with "
                "--daxdev DEVICE");
        auto m = containing_mount(argv[at]);
        if (!m) {
            report_error(kCmd, argv[at], "not in a famfs mount");
            return EINVAL;
        }
        device = m->device;
    } else if (argc - at != 0) {
        return usage_error(std::string("unexpected operand '") + argv[at] +
                           "' (the log comes from --daxdev " + device + ")");
    }
    return ShadowRequest{dir, device, {}};
}

}  // namespace

int cmd_logplay(const GlobalOptions& g, int argc, char** argv) {
    // The reference's -S takes no argument (its --shadow does): the
    // directory is then the first operand, as in `logplay -Ss DIR MPT`.
    // Options may follow the operands (its scripts write `... MPT -vv`).
    constexpr int kShadowDir = 1000;
    static const option longopts[] = {{"dryrun", no_argument, nullptr, 'n'},
                                      {"verbose", no_argument, nullptr, 'v'},
                                      {"client", no_argument, nullptr, 'c'},
                                      {"mmap", no_argument, nullptr, 'm'},
                                      {"read", no_argument, nullptr, 'r'},
                                      {"shadow", required_argument, nullptr, kShadowDir},
                                      {"shadowtest", no_argument, nullptr, 's'},
                                      {"daxdev", required_argument, nullptr, 'd'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    LogAccessFlags access;
    reset_getopt();
    bool dry = g.dryrun, shadowtest = false, dir_operand = false;
    int verbose = 0, shadows = 0;
    std::string shadow_dir, daxdev;
    for (int c; (c = getopt_long(argc, argv, "nvcmrhSsd:?", longopts, nullptr)) != -1;) {
        if (access.take(c)) continue;
        if (c == 'n') {
            dry = true;
        } else if (c == 'v') {
            verbose++;
        } else if (c == kShadowDir || c == 'S') {
            shadows++;
            dir_operand = c == 'S';
            if (c == kShadowDir) shadow_dir = optarg;
        } else if (c == 's') {
            shadowtest = true;
        } else if (c == 'd') {
            daxdev = optarg;
        } else if (c != 'c') {
            logplay_usage(help_requested(c, argv) ? stdout : stderr);
            return help_requested(c, argv) ? 0 : kExitUsage;
        }
    }
    if (!access.check(kCmd)) {
        logplay_usage(stderr);
        return kExitUsage;
    }
    if (shadows > 1) {
        report_problem(kCmd, "give the shadow directory once (--shadow DIR or -S DIR)");
        return kExitUsage;
    }
    if (shadows == 0 && (!daxdev.empty() || shadowtest)) {
        report_problem(kCmd, std::string(daxdev.empty() ? "--shadowtest" : "--daxdev") +
                                 " is only used with --shadow DIR");
        return kExitUsage;
    }
    if (shadows == 1) {
        auto req = shadow_request(g, argc, argv, shadow_dir, dir_operand, daxdev);
        if (auto* status = std::get_if<int>(&req)) return *status;
        auto& r = std::get<ShadowRequest>(req);
        r.opt = {.dry_run = dry, .test = shadowtest, .verbose = verbose};
        return play_into_shadow(r);
    }
    if (argc - optind != 1) {
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
    const uint64_t from = before->number(meta::kKeyEntriesReplayed);
    if (!dry) {
        if (auto st = send_control(mnt, meta::kCatchUp); !st) {
            report_error(kCmd, mnt, st.error());
            return st.error().code;
        }
    }
    auto after = read_server_status(mnt);
    if (!after) {
        report_error(kCmd, mnt, after.error());
        return after.error().code;
    }
    const uint64_t to =
        dry ? after->number(meta::kKeyLogNextIndex) : after->number(meta::kKeyEntriesReplayed);
    const uint64_t log_end = std::max(to, after->number(meta::kKeyLogNextIndex));
    auto t = describe(m->device, from, dry ? UINT64_MAX : to, verbose > 0,
                      dry ? "would play" : "played");
    if (!t) {
        report_error(kCmd, m->device, t.error());
        return t.error().code;
    }
    const uint64_t new_errors =
        after->number(meta::kKeyErrors) -
        std::min(after->number(meta::kKeyErrors), before->number(meta::kKeyErrors));
    // Deletes are named only when there are some: a log without any reads
    // as it always did (and as the reference's does).
    const std::string deletes =
        t->deletes ? ", " + std::to_string(t->deletes) + " deletes" : std::string();
    std::printf(
        "famfs logplay: %s: %s %llu new entries (%llu files, %llu directories%s); "
        "%llu entries in the log; %llu new errors\n",
        mnt.c_str(), dry ? "would play" : "played",
        static_cast<unsigned long long>(t->files + t->dirs + t->deletes + t->other),
        static_cast<unsigned long long>(t->files), static_cast<unsigned long long>(t->dirs),
        deletes.c_str(), static_cast<unsigned long long>(log_end),
        static_cast<unsigned long long>(new_errors));
    if (new_errors) std::printf("%s", after->text.c_str());
    return exit_status(static_cast<int64_t>(new_errors));
}

}  // namespace famfs::cli
