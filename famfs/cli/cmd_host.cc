// famfs host evict: ends a host's hold on the host table (docs/delete.md,
// "Dead host"), so that a host known dead stops blocking the reuse of
// deleted space. Master only: the master is the one writer of grants.
#include <getopt.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "famfs/host_registration.h"
#include "famfs/host_table.h"
#include "famfs/volume.h"
#include "report.h"
#include "target.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "host evict";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs host evict NAME [PATH]\n"
                 "  NAME: a host name or system UUID as `famfs hosts` shows it\n"
                 "  PATH: a path in a famfs mount (with --device DEVICE: none)\n"
                 "Evict only a host known dead: its slot then blocks nothing, and if it\n"
                 "comes back its mount fails every access (ESTALE) until it remounts.\n");
}

Result<std::vector<size_t>> would_evict(Volume& v, const std::string& host) {
    auto table = read_host_table(v.device());
    if (!table) return table.error();
    return slots_of_host(*table, v.superblock(), host, v.device().path());
}

int evict(const GlobalOptions& g, const std::string& host, const std::string& path) {
    auto t = resolve_target(g, path);
    if (!t) return report_error(kCmd, path, t.error()), 1;
    auto vol = Volume::open(t->device, g.dryrun ? Access::kReadOnly : Access::kReadWrite);
    if (!vol) return report_error(kCmd, t->device, vol.error()), 1;
    Volume& v = **vol;
    if (v.role() != Role::kMaster)
        return report_error(kCmd, host,
                            "read-only file system: this host is a client; only the master "
                            "(system " +
                                omf::uuid_to_string(v.superblock().system_uuid) + ") evicts hosts"),
               1;
    auto slots =
        g.dryrun ? would_evict(v, host) : evict_host(v.device(), v.superblock(), v.role(), host);
    if (!slots) return report_error(kCmd, host, slots.error()), 1;
    for (size_t s : *slots)
        std::printf("famfs host evict: %s: %s slot %zu\n", host.c_str(),
                    g.dryrun ? "would evict" : "evicted", s);
    return 0;
}

}  // namespace

int cmd_host(const GlobalOptions& g, int argc, char** argv) {
    static const option longopts[] = {{"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, "h?", longopts, nullptr)) != -1;) {
        usage(help_requested(c, argv) ? stdout : stderr);
        return help_requested(c, argv) ? 0 : kExitUsage;
    }
    const int operands = argc - optind;
    const int wanted = g.device.empty() ? 3 : 2;  // evict NAME [PATH]
    if (operands != wanted || std::strcmp(argv[optind], "evict") != 0 ||
        argv[optind + 1][0] == '\0')
        return usage(stderr), kExitUsage;
    return evict(g, argv[optind + 1], operands == 3 ? argv[optind + 2] : "");
}

}  // namespace famfs::cli
