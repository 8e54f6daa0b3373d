// famfs hosts: the host table of docs/delete.md (slots, watermarks,
// heartbeats, grants) and what the space pending reclaim waits for. With
// --wait it samples the table twice and names the active hosts whose
// heartbeat counter stood still: liveness judged on this host's monotonic
// clock, never on the wall-clock times the slots carry.
#include <getopt.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include "args.h"
#include "commands.h"
#include "famfs/host_registration.h"
#include "famfs/host_table.h"
#include "famfs/volume.h"
#include "pending_report.h"
#include "report.h"
#include "target.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "hosts";

void usage(FILE* out) {
    std::fprintf(out,
                 "usage: famfs hosts [--wait SECONDS] [PATH]\n"
                 "  PATH: a path in a famfs mount (with --device DEVICE: none)\n"
                 "  --wait, -w SECONDS: read the table, wait, read it again and mark\n"
                 "      stale the active hosts whose heartbeat counter did not move\n"
                 "Heartbeat ages are by this host's wall clock, for display only.\n");
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

// How long ago a heartbeat was, by this host's wall clock: hosts' clocks
// differ, so it is shown and never judged.
std::string heartbeat_age(uint64_t heartbeat_ns, uint64_t now_ns) {
    if (heartbeat_ns == 0) return "";
    char text[96];
    if (heartbeat_ns > now_ns) {
        std::snprintf(text, sizeof text, ", last heartbeat %.1f s ahead of this host's clock",
                      static_cast<double>(heartbeat_ns - now_ns) / 1e9);
    } else {
        std::snprintf(text, sizeof text, ", last heartbeat %.1f s ago",
                      static_cast<double>(now_ns - heartbeat_ns) / 1e9);
    }
    return text;
}

std::string host_text(const HostSlot& s, uint64_t now_ns) {
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
    const bool active = h.state == omf::HostState::kActive;
    return text + (active ? heartbeat_age(h.heartbeat_ns, now_ns) : std::string());
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

// What --wait found: the slots whose active host's counter stood still.
struct Staleness {
    uint64_t seconds = 0;  // 0: not sampled
    std::vector<size_t> stale;
};

void print_table(const std::vector<HostSlot>& table, const omf::Uuid& fs, const Staleness& w) {
    using namespace std::chrono;
    const auto now_ns = static_cast<uint64_t>(
        duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count());
    size_t shown = 0;
    for (const HostSlot& raw : table) {
        const HostSlot s = slot_of_this_fs(raw, fs);
        if (s.host.status == omf::HalfStatus::kEmpty && s.master.status == omf::HalfStatus::kEmpty)
            continue;
        ++shown;
        const SlotBound b = slot_bound(s, fs);
        std::string stale;
        if (std::find(w.stale.begin(), w.stale.end(), s.index) != w.stale.end())
            stale =
                "; stale (heartbeat counter did not move in " + std::to_string(w.seconds) + " s)";
        std::printf("slot %zu: %s; %s%s%s%s\n", s.index, host_text(s, now_ns).c_str(),
                    grant_text(s).c_str(), stale.c_str(), b.bound == 0 ? "; blocks reclaim: " : "",
                    b.bound == 0 ? b.why.c_str() : "");
    }
    if (shown == 0) std::printf("no hosts in the table\n");
}

// Two samples `seconds` apart; the table returned is the second one.
Result<std::vector<HostSlot>> sample_twice(Device& dev, const omf::Uuid& fs, uint64_t seconds,
                                           Staleness& w) {
    auto this_fs = [&](std::vector<HostSlot> t) {
        for (HostSlot& s : t) s = slot_of_this_fs(std::move(s), fs);
        return t;
    };
    LivenessTracker tracker{std::chrono::seconds(seconds)};
    auto first = read_host_table(dev);
    if (!first) return first.error();
    tracker.observe(this_fs(std::move(*first)), LivenessTracker::Clock::now());
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    auto second = read_host_table(dev);
    if (!second) return second.error();
    tracker.observe(this_fs(*second), LivenessTracker::Clock::now());
    w.seconds = seconds;
    w.stale = tracker.stale(LivenessTracker::Clock::now());
    return second;
}

void print_pending(const State& st, const std::vector<HostSlot>& table, const omf::Uuid& fs) {
    std::printf("pending reclaim: %" PRIu64 " bytes in %zu run(s)\n", st.alloc.pending_bytes(),
                st.alloc.pending().size());
    std::fputs(pending_runs_text(st, table, fs).c_str(), stdout);
}

}  // namespace

int cmd_hosts(const GlobalOptions& g, int argc, char** argv) {
    static const option longopts[] = {{"wait", required_argument, nullptr, 'w'},
                                      {"help", no_argument, nullptr, 'h'},
                                      {nullptr, 0, nullptr, 0}};
    uint64_t wait_seconds = 0;
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, "w:h?", longopts, nullptr)) != -1;) {
        if (c == 'w') {
            auto n = parse_number(optarg, "--wait");
            if (n && *n > 0 && *n <= 3600) {
                wait_seconds = *n;
                continue;
            }
            report_error(kCmd, optarg, "--wait takes 1 to 3600 seconds");
            return usage(stderr), kExitUsage;
        }
        usage(help_requested(c, argv) ? stdout : stderr);
        return help_requested(c, argv) ? 0 : kExitUsage;
    }
    if (argc - optind > 1 || (g.device.empty() && optind == argc)) return usage(stderr), kExitUsage;
    const std::string arg = optind < argc ? argv[optind] : "";
    auto t = resolve_target(g, arg);
    if (!t) return report_error(kCmd, arg, t.error()), 1;
    auto vol = Volume::open(t->device, Access::kReadOnly);
    if (!vol) return report_error(kCmd, t->device, vol.error()), 1;
    const omf::Uuid fs = (*vol)->superblock().fs_uuid;
    Staleness w;
    auto table = wait_seconds ? sample_twice((*vol)->device(), fs, wait_seconds, w)
                              : read_host_table((*vol)->device());
    if (!table) return report_error(kCmd, t->device, table.error()), 1;
    auto st = (*vol)->load();
    if (!st) return report_error(kCmd, t->device, st.error()), 1;
    print_table(*table, fs, w);
    print_pending(*st, *table, fs);
    return 0;
}

}  // namespace famfs::cli
