// bench_replay: what a worst-case log costs (issue 16). A full 8 MiB log of
// FILE entries that all collide with one another, on 4 KiB allocation
// units, 16 extents each (tests/common/worst_case_log.h, both shapes), is
// mounted by a master and by a client and checked by `famfs fsck`. Each
// figure is set against the same command on an empty log of the same
// geometry, measured in the same run: peak resident memory (target: at
// most 64 MiB above the empty log's) and wall time until served or done
// (target: at most 1 s); CPU time is shown too, as the machine is shared.
// One line per figure: value, baseline, difference or ratio, PASS/MISS.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../bench_device.h"
#include "../bench_stats.h"
#include "famfs/system_uuid.h"
#include "fuse_hosts.h"
#include "worst_case_log.h"

namespace {

using namespace famfs;
using namespace famfs::fusetest;
using famfs::bench::die;
using famfs::bench::median;
using Clock = std::chrono::steady_clock;

constexpr double kMemoryTargetMiB = 64, kTimeTargetS = 1;
constexpr int kRounds = 3;
int misses = 0;

struct Cost {
    double seconds = 0;   // wall
    double peak_mib = 0;  // resident
    double cpu = 0;       // user + system seconds: what a busy machine does not inflate
};

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// `famfs --device DEV fsck`, its output discarded: wall time and peak RSS.
Cost fsck_once(const std::string& dev) {
    const auto t0 = Clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        const int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execl(cli_bin().c_str(), cli_bin().c_str(), "--device", dev.c_str(), "fsck", nullptr);
        _exit(126);
    }
    int status = 0;
    struct rusage ru {};
    wait4(pid, &status, 0, &ru);
    const double wall = seconds_since(t0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 126) die("fsck of " + dev + " did not run");
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
    return {wall, static_cast<double>(ru.ru_maxrss) / 1024, cpu};
}

double resident_peak_mib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024;
    return 0;
}

// The CPU seconds a process has used so far (/proc/PID/stat utime + stime).
double cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));  // after "pid (comm) "
    std::string skip;
    for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt
    double utime = 0, stime = 0;
    fields >> utime >> stime;
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A mount until it serves (the server replays the log first), then the
// server's peak RSS.
Cost mount_once(const Scratch& s, const std::string& dev, bool client, int round) {
    const std::string name = (client ? "c" : "m") + std::to_string(round);
    auto h = client ? Host::client(s, name) : Host::master(s, name);
    const auto t0 = Clock::now();
    if (auto err = h->mount(dev); !err.empty()) die(err);
    Cost c{seconds_since(t0), resident_peak_mib(h->server_pid()), cpu_seconds(h->server_pid())};
    h->unmount();
    return c;
}

// Medians of the time, the largest peak.
template <class F>
Cost measure(F&& once) {
    std::vector<double> t, cpu;
    double peak = 0;
    for (int r = 0; r < kRounds; ++r) {
        const Cost c = once(r);
        t.push_back(c.seconds);
        cpu.push_back(c.cpu);
        peak = std::max(peak, c.peak_mib);
    }
    return {median(t), peak, median(cpu)};
}

void report(const std::string& what, const Cost& worst, const Cost& empty) {
    const double extra = worst.peak_mib - empty.peak_mib;
    const bool mem_ok = extra <= kMemoryTargetMiB, time_ok = worst.seconds <= kTimeTargetS;
    misses += !mem_ok + !time_ok;
    std::printf("%-40s peak %7.1f MiB  empty log %7.1f MiB  +%6.1f MiB (target <= +%.0f)  %s\n",
                what.c_str(), worst.peak_mib, empty.peak_mib, extra, kMemoryTargetMiB,
                mem_ok ? "PASS" : "MISS");
    std::printf("%-40s time %7.3f s    empty log %7.3f s    ratio %5.1f (target <= %.0f s)  %s\n",
                "", worst.seconds, empty.seconds, worst.seconds / empty.seconds, kTimeTargetS,
                time_ok ? "PASS" : "MISS");
    std::printf("%-40s CPU  %7.3f s    empty log %7.3f s                            info\n", "",
                worst.cpu, empty.cpu);
    std::fflush(stdout);
}

std::string image(const std::string& dir, const char* name, test::WorstCase shape,
                  uint64_t entries) {
    test::WorstCaseSpec spec;
    spec.shape = shape;
    spec.entries = entries;
    auto me = local_system_uuid();
    if (!me) die(me.error().message);
    spec.system_uuid = *me;
    const std::string path = dir + "/" + name;
    if (auto st = test::write_worst_case_image(path, spec); !st) die(st.error().message);
    return path;
}

void bench_shape(const Scratch& s, const std::string& dir, test::WorstCase shape,
                 const std::string& label) {
    const std::string empty = image(dir, "empty", shape, 0);
    const std::string full = image(dir, "full", shape, test::WorstCaseSpec::kFull);
    std::printf("%s: 15420 entries x 16 extents, 4 KiB units, 8 GiB device\n", label.c_str());
    for (bool client : {false, true}) {
        const Cost e = measure([&](int r) { return mount_once(s, empty, client, r); });
        const Cost w = measure([&](int r) { return mount_once(s, full, client, r); });
        report(client ? "  mount, client" : "  mount, master", w, e);
    }
    const Cost e = measure([&](int) { return fsck_once(empty); });
    const Cost w = measure([&](int) { return fsck_once(full); });
    report("  fsck", w, e);
    unlink(empty.c_str());
    unlink(full.c_str());
}

}  // namespace

int main() {
    char tmpl[] = "/dev/shm/bench-replay-XXXXXX";
    if (!mkdtemp(tmpl)) die("mkdtemp");
    const std::string dir = tmpl;
    const std::string uuid_file = dir + "/system_uuid";
    setenv("FAMFS_SYSTEM_UUID_FILE", uuid_file.c_str(), 1);
    {
        Scratch scratch;
        bench_shape(scratch, dir, test::WorstCase::kWholeDevice,
                    "worst-case log, every extent over the whole device");
        bench_shape(scratch, dir, test::WorstCase::kFragmented,
                    "worst-case log, collisions over fragmented first claims");
    }
    unlink(uuid_file.c_str());
    rmdir(dir.c_str());
    std::printf("bench_replay: %d figure(s) missed their target\n", misses);
    return 0;
}
