// famfs status: the state of the famfs servers behind one mount (or all
// famfs mounts): role, device, entries replayed, follow lag, errors and
// poisoned memory, as the server publishes them in .meta/.status.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <string_view>

#include "args.h"
#include "commands.h"
#include "famfs/meta_protocol.h"
#include "mount_server.h"
#include "report.h"

namespace famfs::cli {

namespace {

constexpr const char* kCmd = "status";

// The server names the files a poisoned range hits from the mount's root
//   poisoned: device offset 0x12340000 (+0x40): /data/a, /data/b
// (commas inside names are escaped, so ", " separates names); they are
// shown under the mount point, as paths that can be used as they are.
std::string under_mount_point(std::string_view line, const std::string& mountpoint) {
    const std::string key = std::string(meta::kKeyPoisoned) + meta::kKeySeparator;
    constexpr std::string_view kListAfter = "): ";
    const size_t list = line.find(kListAfter);
    if (line.substr(0, key.size()) != key || list == std::string_view::npos) {
        return std::string(line);
    }
    const std::string prefix = mountpoint == "/" ? "" : mountpoint;
    std::string out(line.substr(0, list + kListAfter.size()));
    std::string_view names = line.substr(list + kListAfter.size());
    for (bool first = true; !names.empty(); first = false) {
        const size_t comma = names.find(", ");
        const std::string_view name = names.substr(0, comma);
        if (!first) out += ", ";
        if (name.substr(0, 1) == "/") out += prefix;
        out += name;  // or "no file", "and N more"
        names = comma == std::string_view::npos ? std::string_view() : names.substr(comma + 2);
    }
    return out;
}

std::string readable(const std::string& text, const std::string& mountpoint) {
    std::string out;
    for (size_t at = 0; at < text.size();) {
        const size_t nl = text.find('\n', at);
        const size_t end = nl == std::string::npos ? text.size() : nl;
        out += under_mount_point(std::string_view(text).substr(at, end - at), mountpoint);
        if (nl != std::string::npos) out += '\n';
        at = end + 1;
    }
    return out;
}

// 0 when the server answered, else an errno.
int show(const MountInfo& m) {
    if (mount_state(m.mountpoint) == MountState::kDead) {
        report_error(kCmd, m.mountpoint,
                     "the FUSE server is not running (killed?); run famfs umount to clean up");
        return ENOTCONN;
    }
    auto st = read_server_status(m.mountpoint);
    if (!st) {
        report_error(kCmd, m.mountpoint, st.error());
        return st.error().code;
    }
    std::printf("%s", readable(st->text, m.mountpoint).c_str());
    return 0;
}

}  // namespace

int cmd_status(const GlobalOptions& g, int argc, char** argv) {
    (void)g;
    reset_getopt();
    for (int c; (c = getopt(argc, argv, "+h?")) != -1;) {
        std::fprintf(help_requested(c) ? stdout : stderr, "usage: famfs status [MOUNTPOINT]\n");
        return help_requested(c) ? 0 : kExitUsage;
    }
    if (argc - optind > 1) {
        std::fprintf(stderr, "usage: famfs status [MOUNTPOINT]\n");
        return kExitUsage;
    }
    if (argc - optind == 1) {
        const std::string mnt = absolute_lexical(argv[optind]);
        auto m = famfs_mount_at(mnt);
        if (!m) {
            report_error(kCmd, mnt, "not a famfs mount point");
            return EINVAL;
        }
        return show(*m);
    }
    int failures = 0;
    const auto mounts = famfs_mounts();
    if (mounts.empty()) std::printf("no famfs mounts\n");
    for (size_t i = 0; i < mounts.size(); i++) {
        if (i) std::printf("\n");
        failures += show(mounts[i]) ? 1 : 0;
    }
    return failures;
}

}  // namespace famfs::cli
