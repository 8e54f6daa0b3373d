// bench_cli: the CLI's speed targets, measured on /dev/shm devices.
//  1. `famfs creat` of one file with 10 000 files already logged: median
//     wall time of the whole process (target <= 5 ms).
//  2. `famfs cp` of 10 000 small files in one call (target >= 5 000 files/s).
//  3. `famfs cp` of a 1 GiB file against plain memcpy between the same
//     buffers, measured side by side (target >= 80 %).
// Prints one line per figure: name, value, target, PASS/MISS.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "famfs/dax.h"
#include "famfs/volume.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr uint64_t kMiB = 1ull << 20, kGiB = 1ull << 30;
constexpr int kFiles = 10000;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Runs argv quietly; returns its wall time in seconds, or -1 on failure.
double timed_run(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const auto t0 = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::execv(args[0], args.data());
        ::_exit(126);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    const double t = seconds_since(t0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "bench_cli: %s %s ... failed (status %d)\n", argv[0].c_str(),
                     argv.size() > 3 ? argv[3].c_str() : "", status);
        return -1;
    }
    return t;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

void report(const char* name, double value, const char* unit, const char* target, bool pass) {
    std::printf("%-34s %12.3f %-8s target %-10s %s\n", name, value, unit, target,
                pass ? "PASS" : "MISS");
    std::fflush(stdout);
}

bool mkfs(const std::string& dev, uint64_t size) {
    fs::remove(dev);
    return timed_run({MKFS_BIN, "--size", std::to_string(size), "--allow-small", dev}) >= 0;
}

// 1: creat latency with a log of 10 000 files.
bool bench_creat(const std::string& dir) {
    const std::string dev = dir + "/creat_dev";
    if (!mkfs(dev, kFiles * 2 * kMiB + 64 * kMiB)) return false;
    {
        auto vol = famfs::Volume::open(dev, famfs::Access::kReadWrite);
        if (!vol) return false;
        for (int i = 0; i < kFiles; ++i) {
            famfs::CreateSpec spec;
            spec.relpath = "f" + std::to_string(i);
            spec.size = 4096;
            if (!(*vol)->create_file(spec)) return false;
        }
    }
    std::vector<double> times;
    for (int i = 0; i < 21; ++i) {
        const double t =
            timed_run({FAMFS_BIN, "--device", dev, "creat", "-s", "4k", "new" + std::to_string(i)});
        if (t < 0) return false;
        times.push_back(t * 1e3);
    }
    const double ms = median(times);
    report("creat, 10000 files logged (median)", ms, "ms", "<= 5 ms", ms <= 5.0);
    fs::remove(dev);
    return true;
}

// 2: cp of 10 000 small files in one call.
bool bench_cp_small(const std::string& dir) {
    const std::string dev = dir + "/cp_dev", src = dir + "/small";
    if (!mkfs(dev, kFiles * 2 * kMiB + 64 * kMiB)) return false;
    fs::create_directories(src);
    std::vector<char> data(1000, 'x');
    for (int i = 0; i < kFiles; ++i) {
        std::ofstream(src + "/s" + std::to_string(i)).write(data.data(), 1000);
    }
    const double t = timed_run({FAMFS_BIN, "--device", dev, "cp", "-r", src, "small"});
    if (t < 0) return false;
    const double rate = kFiles / t;
    report("cp, 10000 small files, one call", rate, "files/s", ">= 5000", rate >= 5000);
    fs::remove_all(src);
    fs::remove(dev);
    return true;
}

void* map_file(const std::string& path, uint64_t len, int prot) {
    const int fd = ::open(path.c_str(), prot & PROT_WRITE ? O_RDWR : O_RDONLY);
    if (fd < 0) return nullptr;
    void* p = ::mmap(nullptr, len, prot, MAP_SHARED | MAP_POPULATE, fd, 0);
    ::close(fd);
    return p == MAP_FAILED ? nullptr : p;
}

// 3: cp of 1 GiB against memcpy between the same buffers.
bool bench_cp_big(const std::string& dir) {
    const std::string dev = dir + "/big_dev", src = dir + "/big_src";
    if (!mkfs(dev, kGiB + 64 * kMiB)) return false;
    {
        std::ofstream out(src, std::ios::binary);
        std::vector<char> chunk(64 * kMiB);
        for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>(i * 131 + 7);
        for (uint64_t done = 0; done < kGiB; done += chunk.size()) out.write(chunk.data(), chunk.size());
    }
    const std::vector<std::string> cp{FAMFS_BIN, "--device", dev, "cp", src, "big"};
    const double cold = timed_run(cp);  // allocates the device pages
    if (cold < 0) return false;

    auto vol = famfs::Volume::open(dev, famfs::Access::kReadOnly);
    auto st = vol ? (*vol)->load() : famfs::Result<famfs::State>(vol.error());
    if (!st || !st->ns.lookup("big")) return false;
    const uint64_t dst_off = st->ns.lookup("big")->file.extents.at(0).offset;
    auto* dev_map = static_cast<uint8_t*>(map_file(dev, dst_off + kGiB, PROT_READ | PROT_WRITE));
    auto* src_map = static_cast<uint8_t*>(map_file(src, kGiB, PROT_READ));
    if (!dev_map || !src_map) return false;

    std::vector<double> memcpy_s, cp_s;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = Clock::now();
        std::memcpy(dev_map + dst_off, src_map, kGiB);
        memcpy_s.push_back(seconds_since(t0));
        const double t = timed_run(cp);  // the same size: copied into again
        if (t < 0) return false;
        cp_s.push_back(t);
    }
    ::munmap(dev_map, dst_off + kGiB);
    ::munmap(src_map, kGiB);
    const double mc = kGiB / median(memcpy_s) / 1e9, c = kGiB / median(cp_s) / 1e9;
    report("memcpy 1 GiB, same buffers", mc, "GB/s", "-", true);
    report("cp 1 GiB (first, pages allocated)", kGiB / cold / 1e9, "GB/s", "-", true);
    report("cp 1 GiB", c, "GB/s", "-", true);
    report("cp 1 GiB / memcpy", 100.0 * c / mc, "%", ">= 80 %", c >= 0.8 * mc);
    fs::remove(src);
    fs::remove(dev);
    return true;
}

}  // namespace

int main() {
    char tmpl[] = "/dev/shm/bench-cli-XXXXXX";
    if (!::mkdtemp(tmpl)) return 1;
    const std::string dir = tmpl;
    const std::string uuid = dir + "/system_uuid";
    ::setenv("FAMFS_SYSTEM_UUID_FILE", uuid.c_str(), 1);
    const bool ok = bench_creat(dir) && bench_cp_small(dir) && bench_cp_big(dir);
    fs::remove_all(dir);
    if (!ok) std::fprintf(stderr, "bench_cli: a step failed\n");
    return ok ? 0 : 1;
}
