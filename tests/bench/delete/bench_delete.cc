// bench_delete: the speed targets of safe delete (issue 19, docs/delete.md),
// each set against a baseline measured in the same run, on /dev/shm devices.
//  1. `famfs rm` of 10 000 files in one call (target >= 5 000 files/s), both
//     as `rm -r DIR` and as `rm DIR/f0 ... DIR/f9999`; baseline: `famfs
//     creat -M` of the same 10 000 files in one call. Ratio: rm / creat.
//  2. The master's reclaim decision: a file deleted at D while a host's
//     watermark is still <= D; the host's slot is rewritten with W > D and
//     the time until create_file of a file that fits only in the freed
//     space succeeds there is measured (target <= 100 ms); baseline: the
//     same create_file into free space with nothing pending, which reads no
//     table. Ratio: reclaim / baseline.
// One line per figure: value, target, baseline, ratio, PASS/MISS. Misses are
// figures to read, not failures; a step that fails exits 2.
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "../bench_device.h"
#include "../bench_stats.h"
#include "famfs/omf.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"

namespace {

using namespace famfs;
using famfs::bench::die;
using famfs::bench::median;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = omf::kMiB, kUnit = omf::kAllocUnit;
constexpr int kFiles = 10000;
int misses = 0;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Wall seconds of argv run with its output discarded; dies if it fails.
double run(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const auto t0 = Clock::now();
    const pid_t pid = fork();
    if (pid == 0) {
        const int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        execv(args[0], args.data());
        _exit(126);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    const double t = seconds_since(t0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die(argv[0] + " " + argv[3] + " failed (status " + std::to_string(status) + ")");
    return t;
}

// ---- 1: famfs rm of 10 000 files in one call ----

// A device with DIR "d" holding kFiles one-unit files, created by one
// `famfs creat -M ...`; returns that call's seconds. The log (16 MiB,
// 30 840 entries) takes the creates and every DELETE.
double device_with_files(const std::string& dev) {
    unlink(dev.c_str());
    const uint64_t size = 2 * kMiB + 16 * kMiB + (kFiles + 16) * kUnit;
    run({MKFS_BIN, "--size", std::to_string(size), "--allow-small", "--loglen", "16m", dev});
    run({FAMFS_BIN, "--device", dev, "mkdir", "d"});
    std::vector<std::string> creat{FAMFS_BIN, "--device", dev, "creat"};
    for (int i = 0; i < kFiles; ++i) {
        creat.push_back("-M");
        creat.push_back("d/f" + std::to_string(i) + ",4k");
    }
    return run(creat);
}

void report_rate(const char* name, double rate, double baseline) {
    const bool pass = rate >= 5000;
    misses += !pass;
    std::printf("%-40s %8.0f files/s  target >= 5000  creat -M %8.0f files/s  ratio %5.2f  %s\n",
                name, rate, baseline, rate / baseline, pass ? "PASS" : "MISS");
    std::fflush(stdout);
}

void bench_rm(const std::string& dir) {
    const std::string dev = dir + "/rm_dev";
    std::vector<std::string> by_name{FAMFS_BIN, "--device", dev, "rm"};
    for (int i = 0; i < kFiles; ++i) by_name.push_back("d/f" + std::to_string(i));
    std::vector<double> creat, rm_r, rm_names;
    for (int round = 0; round < 3; ++round) {
        creat.push_back(device_with_files(dev));
        rm_r.push_back(run({FAMFS_BIN, "--device", dev, "rm", "-r", "d"}));
        creat.push_back(device_with_files(dev));
        rm_names.push_back(run(by_name));
    }
    unlink(dev.c_str());
    const double base = kFiles / median(creat);
    report_rate("rm -r of a directory of 10000 files", kFiles / median(rm_r), base);
    report_rate("rm of 10000 files named in argv", kFiles / median(rm_names), base);
}

// ---- 2: the reclaim decision ----

// A device of `units` data units, and the host table as hosts and the
// master would write it.
struct ReclaimDevice : bench::BenchDevice {
    explicit ReclaimDevice(uint64_t units)
        : BenchDevice("delete", omf::kLogOffset + MkfsOptions{}.log_len + units * kUnit) {}

    uint64_t free_bytes() const {
        auto st = vol->load();
        if (!st) die(st.error().message);
        return st->alloc.free_bytes();
    }

    // A host that has applied the log below `watermark`, written as a host
    // would (its half built, copied in and flushed), with the master's grant.
    void write_slot(size_t slot, uint64_t watermark) {
        omf::HostHalf h;
        h.state = omf::HostState::kActive;
        h.system_uuid = omf::random_uuid();
        h.fs_uuid = vol->superblock().fs_uuid;
        h.nonce = 1000 + slot;
        h.watermark = watermark;
        h.heartbeat = 1;
        h.name = "host" + std::to_string(slot);
        auto mem = vol->device().range(omf::host_slot_offset(slot), omf::kHostSlotBytes);
        test::encode_granted_slot(h, mem);
        if (auto st = vol->device().persist(mem.data(), mem.size()); !st) die(st.error().message);
    }
    // Every slot taken by a host past `watermark`: the table costs its most.
    void fill_table(uint64_t watermark) {
        for (size_t s = 0; s < omf::kHostSlots; ++s) write_slot(s, watermark);
    }
};

constexpr uint64_t kUnits = 64;

// A file deleted at D while host 0 is still at W = D, so its unit is
// pending and the device otherwise full; then host 0 catches up (W = D + 1)
// and a one-unit file is created. Seconds from host 0's write to the file
// being logged in the freed unit.
double reclaim_once() {
    ReclaimDevice d(kUnits);
    const uint64_t victim = d.create("victim", kUnit).extents.at(0).offset;
    d.create("filler", d.free_bytes());
    const uint64_t deleted_at = d.vol->log().next_index();
    d.fill_table(deleted_at + 1);
    d.write_slot(0, deleted_at);
    if (auto st = d.vol->remove("victim", Volume::RemoveMode::kFile); !st) die(st.error().message);
    CreateSpec spec;
    spec.relpath = "reused";
    spec.size = kUnit;
    if (auto early = d.vol->create_file(spec); early || early.error().code != ENOSPC)
        die("the freed unit was handed out while a host was behind the delete");
    const auto t0 = Clock::now();
    d.write_slot(0, deleted_at + 1);
    auto c = d.vol->create_file(spec);
    const double t = seconds_since(t0);
    if (!c) die("reused: " + c.error().message);
    if (c->file.extents.at(0).offset != victim) die("reused: not in the deleted file's unit");
    return t;
}

// The same log and table with one unit free and nothing pending.
double plain_create_once() {
    ReclaimDevice d(kUnits);
    d.create("victim", kUnit);
    d.create("filler", d.free_bytes() - kUnit);
    d.fill_table(d.vol->log().next_index() + 1);
    CreateSpec spec;
    spec.relpath = "new";
    spec.size = kUnit;
    const auto t0 = Clock::now();
    auto c = d.vol->create_file(spec);
    const double t = seconds_since(t0);
    if (!c) die("new: " + c.error().message);
    return t;
}

void bench_reclaim() {
    std::vector<double> reclaim, plain;
    for (int round = 0; round < 9; ++round) {
        reclaim.push_back(reclaim_once());
        plain.push_back(plain_create_once());
    }
    const double ms = median(reclaim) * 1e3, base = median(plain) * 1e3;
    const bool pass = ms <= 100;
    misses += !pass;
    std::printf("%-40s %8.3f ms       target <= 100 ms  no pending %8.3f ms  ratio %5.2f  %s\n",
                "reclaim: host caught up -> create", ms, base, ms / base, pass ? "PASS" : "MISS");
    std::printf("%-40s (64 hosts in the table, one behind the delete until timed)\n", "");
}

}  // namespace

int main() {
    char tmpl[] = "/dev/shm/bench-delete-XXXXXX";
    if (!mkdtemp(tmpl)) die("mkdtemp");
    const std::string dir = tmpl;
    const std::string uuid = dir + "/system_uuid";
    setenv("FAMFS_SYSTEM_UUID_FILE", uuid.c_str(), 1);
    bench_rm(dir);
    bench_reclaim();
    unlink(uuid.c_str());
    rmdir(dir.c_str());
    std::printf("bench_delete: %d figure(s) missed their target\n", misses);
    return 0;
}
