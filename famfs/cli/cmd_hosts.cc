// famfs hosts: the host table of docs/delete.md (slots, watermarks,
// heartbeats, grants) and what the space pending reclaim waits for.
#include <getopt.h>

#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <string>

#include "args.h"
#include "commands.h"
#include "famfs/host_table.h"
#include "famfs/volume.h"
#include "report.h"
#include "target.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "hosts";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs hosts [PATH]\n"
                 "  PATH: a path in a famfs mount (with --device DEVICE: none)\n");
}

std::string wall_clock(uint64_t ns) {
    if (ns == 0) return "never";
    const time_t secs = static_cast<time_t>(ns / 1'000'000'000ULL);
    tm t{};
    gmtime_r(&secs, &t);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &t);
    return text;
}

const char* state_name(omf::HostState s) {
    switch (s) {
        case omf::HostState::kRequested:
            return "requested";
        case omf::HostState::kActive:
            return "active";
        case omf::HostState::kLeft:
            return "left";
    }
    return "?";
}

std::string host_text(const HostSlot& s) {
    switch (s.host.status) {
        case omf::HalfStatus::kEmpty:
            return "host: none";
        case omf::HalfStatus::kTorn:
            return "host: torn or corrupt";
        case omf::HalfStatus::kValid:
            break;
    }
    const omf::HostHalf& h = s.host.half;
    char text[256];
    std::snprintf(text, sizeof text,
                  "host: %s (%s) %s, watermark %" PRIu64 ", heartbeat %" PRIu64 " at %s",
                  h.name.c_str(), omf::uuid_to_string(h.system_uuid).c_str(), state_name(h.state),
                  h.watermark, h.heartbeat, wall_clock(h.heartbeat_ns).c_str());
    return text;
}

std::string grant_text(const HostSlot& s) {
    switch (s.master.status) {
        case omf::HalfStatus::kEmpty:
            return "grant: none";
        case omf::HalfStatus::kTorn:
            return "grant: torn or corrupt";
        case omf::HalfStatus::kValid:
            break;
    }
    const omf::MasterHalf& m = s.master.half;
    return std::string(m.evicted ? "evicted" : "granted") + " (generation " +
           std::to_string(m.generation) + ", " + wall_clock(m.time_ns) + ")";
}

void print_table(const std::vector<HostSlot>& table, const omf::Uuid& fs) {
    size_t shown = 0;
    for (const HostSlot& raw : table) {
        const HostSlot s = slot_of_this_fs(raw, fs);
        if (s.host.status == omf::HalfStatus::kEmpty && s.master.status == omf::HalfStatus::kEmpty)
            continue;
        ++shown;
        const SlotBound b = slot_bound(s, fs);
        std::printf("slot %zu: %s; %s%s%s\n", s.index, host_text(s).c_str(), grant_text(s).c_str(),
                    b.bound == 0 ? "; blocks reclaim: " : "", b.bound == 0 ? b.why.c_str() : "");
    }
    if (shown == 0) std::printf("no hosts in the table\n");
}

void print_pending(const State& st, const std::vector<HostSlot>& table, const omf::Uuid& fs) {
    const bool unknown = !kEmptyTableAllowsReclaim && table_is_empty(table, fs);
    const uint64_t horizon = unknown ? 0 : reclaim_horizon(table, fs);
    std::printf("pending reclaim: %" PRIu64 " bytes in %zu run(s)\n", st.alloc.pending_bytes(),
                st.alloc.pending().size());
    for (const auto& [first, run] : st.alloc.pending()) {
        if (run.delete_index < horizon) {
            std::printf("  deleted at entry %" PRIu64 ": reclaimable now\n", run.delete_index);
            continue;
        }
        if (unknown) {
            std::printf("  deleted at entry %" PRIu64 ": waits for a host to register\n",
                        run.delete_index);
            continue;
        }
        std::printf("  deleted at entry %" PRIu64 ": waits for", run.delete_index);
        for (const ReclaimBlocker& b : reclaim_verdict(table, fs, run.delete_index).blockers)
            std::printf(" slot %zu (%s)", b.slot, b.why.c_str());
        std::printf("\n");
    }
}

}  // namespace

int cmd_hosts(const GlobalOptions& g, int argc, char** argv) {
    static const option longopts[] = {{"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, "h?", longopts, nullptr)) != -1;) {
        usage(help_requested(c, argv) ? stdout : stderr);
        return help_requested(c, argv) ? 0 : kExitUsage;
    }
    if (argc - optind > 1 || (g.device.empty() && optind == argc)) return usage(stderr), kExitUsage;
    const std::string arg = optind < argc ? argv[optind] : "";
    auto t = resolve_target(g, arg);
    if (!t) return report_error(kCmd, arg, t.error()), 1;
    auto vol = Volume::open(t->device, Access::kReadOnly);
    if (!vol) return report_error(kCmd, t->device, vol.error()), 1;
    auto table = read_host_table((*vol)->device());
    if (!table) return report_error(kCmd, t->device, table.error()), 1;
    auto st = (*vol)->load();
    if (!st) return report_error(kCmd, t->device, st.error()), 1;
    const omf::Uuid fs = (*vol)->superblock().fs_uuid;
    print_table(*table, fs);
    print_pending(*st, *table, fs);
    return 0;
}

}  // namespace famfs::cli
