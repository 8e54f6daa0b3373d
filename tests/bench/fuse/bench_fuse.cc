// FUSE speed targets, side by side in one run: sequential read and write
// through the mount (1 MiB requests) against memcpy from the same mapping,
// 4 KiB random reads, open+close rate, stat in a large vs a small
// directory, mount time of a full 8 MiB log, and follow latency (master logs
// a file -> visible on a client's mount). One line per figure: value,
// target, ratio, PASS/MISS (figures without a target print "info").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "../bench_mount.h"
#include "../bench_stats.h"
#include "famfs/dax.h"
#include "famfs/volume.h"
#include "fuse_hosts.h"

namespace {

using famfs::bench::alternate;
using famfs::bench::BenchDevice;
using famfs::bench::die;
using famfs::bench::median;
using famfs::bench::mount_master;
using famfs::bench::seconds_of;

using namespace famfs;
using namespace famfs::fusetest;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = omf::kMiB, kGiB = omf::kGiB;
constexpr uint64_t kSeqSize = 512 * kMiB;
constexpr int kBigDir = 10000, kSmallDir = 10;

int misses = 0;

// Without a target: a comparison figure ("info").
void report_bw(const char* name, double gbps, double memcpy_gbps, std::optional<double> target) {
    const double ratio = gbps / memcpy_gbps;
    std::printf("%-46s %8.2f GB/s  memcpy %6.2f GB/s  ratio %5.2f", name, gbps, memcpy_gbps, ratio);
    if (!target) {
        std::printf("                  info\n");
        return;
    }
    const bool pass = ratio >= *target;
    misses += !pass;
    std::printf(" (target >= %.2f)  %s\n", *target, pass ? "PASS" : "MISS");
}

void report_rate(const char* name, double per_sec, double target) {
    const bool pass = per_sec >= target;
    misses += !pass;
    std::printf("%-46s %10.0f /s   target >= %.0f /s   ratio %5.2f  %s\n", name, per_sec, target,
                per_sec / target, pass ? "PASS" : "MISS");
}

void report_info(const char* name, double value, const char* unit) {
    std::printf("%-46s %10.2f %s   info\n", name, value, unit);
}

void report_time(const char* name, double ms, double target_ms) {
    const bool pass = ms <= target_ms;
    misses += !pass;
    std::printf("%-46s %10.2f ms   target <= %.1f ms   ratio %5.2f  %s\n", name, ms, target_ms,
                target_ms / ms, pass ? "PASS" : "MISS");
}

// Sequential read/write with 1 MiB requests against memcpy on the mapping.
// `mode` names the data path in the figures' labels; `target` is the
// default data path's, and options of the server are shown against it.
void bench_sequential(BenchDevice& d, Host& m, const std::string& mode,
                      std::optional<double> target) {
    auto map =
        dax::FileMapping::from_entry(d.vol->shared_device(), d.vol->load()->ns.lookup("seq")->file);
    if (!map) die(map.error().message);
    auto mem = map->contiguous();
    if (mem.size() != kSeqSize) die("seq is not contiguous");
    std::memset(mem.data(), 0x5a, mem.size());
    // Page-aligned buffers throughout: an unaligned 1 MiB buffer spans 257
    // pages, one more than a FUSE request carries, and costs a second request.
    auto* aligned = static_cast<uint8_t*>(std::aligned_alloc(4096, kMiB));
    std::span<uint8_t> buf(aligned, kMiB);
    const double gb = double(kSeqSize) / 1e9;

    auto read_all = [&](int flags, uint8_t* into) {
        const int fd = open(m.path("seq").c_str(), O_RDONLY | flags);
        if (fd < 0) die("open seq: " + std::string(strerror(errno)));
        for (uint64_t off = 0; off < kSeqSize; off += kMiB) {
            if (pread(fd, into, kMiB, off_t(off)) != ssize_t(kMiB)) die("short read");
        }
        close(fd);
    };
    auto write_all = [&](int flags, const uint8_t* from) {
        const int fd = open(m.path("seq").c_str(), O_WRONLY | flags);
        if (fd < 0) die("open seq for write: " + std::string(strerror(errno)));
        for (uint64_t off = 0; off < kSeqSize; off += kMiB) {
            if (pwrite(fd, from, kMiB, off_t(off)) != ssize_t(kMiB)) die("short write");
        }
        close(fd);
    };
    // Every open drops the host's cached pages (keep_cache = 0): cold reads.
    const auto reads = alternate({
        [&] {
            for (uint64_t off = 0; off < kSeqSize; off += kMiB)
                std::memcpy(buf.data(), mem.data() + off, kMiB);
        },
        [&] { read_all(0, buf.data()); },
        [&] { read_all(O_DIRECT, aligned); },
    });
    report_bw(("seq read 1 MiB, read() " + mode).c_str(), gb / reads[1], gb / reads[0], target);
    report_bw(("seq read 1 MiB, O_DIRECT " + mode).c_str(), gb / reads[2], gb / reads[0], target);
    const auto writes = alternate({
        [&] {
            for (uint64_t off = 0; off < kSeqSize; off += kMiB)
                std::memcpy(mem.data() + off, buf.data(), kMiB);
        },
        [&] { write_all(0, buf.data()); },
        [&] { write_all(O_DIRECT, aligned); },
    });
    report_bw(("seq write 1 MiB, write() " + mode).c_str(), gb / writes[1], gb / writes[0], target);
    report_bw(("seq write 1 MiB, O_DIRECT " + mode).c_str(), gb / writes[2], gb / writes[0],
              target);

    // 4 KiB random reads.
    std::mt19937_64 rng(42);
    const int kOps = 20000;
    std::vector<off_t> offs(kOps);
    for (auto& o : offs) o = off_t((rng() % (kSeqSize / 4096)) * 4096);
    auto random_reads = [&](int flags, uint8_t* into) {
        const int fd = open(m.path("seq").c_str(), O_RDONLY | flags);
        const double t = seconds_of([&] {
            for (off_t o : offs) {
                if (pread(fd, into, 4096, o) != 4096) die("short 4 KiB read");
            }
        });
        close(fd);
        return kOps / t;
    };
    const double cpy_rate = kOps / seconds_of([&] {
                                for (off_t o : offs) std::memcpy(buf.data(), mem.data() + o, 4096);
                            });
    const double dio_rate = random_reads(O_DIRECT, aligned);
    const double buf_rate = random_reads(0, buf.data());
    report_info(("4 KiB random read, O_DIRECT " + mode).c_str(), dio_rate, "reads/s");
    report_info(("4 KiB random read, read() " + mode).c_str(), buf_rate, "reads/s");
    report_info("4 KiB random memcpy from the mapping", cpy_rate, "copies/s");
    std::free(aligned);
}

// The rate in 9 windows of 0.2 s: the median is the figure, and the
// slowest and fastest windows show how much the shared machine moved it.
void bench_open_close(Host& m) {
    const std::string path = m.path("small/f0");
    for (int i = 0; i < 1000; i++) close(open(path.c_str(), O_RDONLY));  // warm the dentry
    std::vector<double> rates;
    for (int window = 0; window < 9; window++) {
        int n = 0;
        const double t = seconds_of([&] {
            const auto end = Clock::now() + std::chrono::milliseconds(200);
            while (Clock::now() < end) {
                for (int i = 0; i < 100; i++, n++) {
                    const int fd = open(path.c_str(), O_RDONLY);
                    if (fd < 0) die("open small/f0");
                    close(fd);
                }
            }
        });
        rates.push_back(n / t);
    }
    const auto [slowest, fastest] = std::minmax_element(rates.begin(), rates.end());
    report_rate("open+close of an existing file (median)", median(rates), 20000);
    report_info("  the slowest of 9 windows of 0.2 s", *slowest, "/s");
    report_info("  the fastest", *fastest, "/s");
}

// stat() on a mount without attribute/entry caching (-t 0), so every stat
// is a lookup the server answers.
void bench_stat_scaling(Host& m0) {
    auto paths_in = [&](const std::string& dir, int count) {
        std::vector<std::string> paths;
        for (int i = 0; i < 200; i++)
            paths.push_back(m0.path(dir + "/f" + std::to_string(i * 37 % count)));
        return paths;
    };
    auto stat_us = [](const std::vector<std::string>& paths) {
        struct stat st;
        return seconds_of([&] {
                   for (const auto& p : paths)
                       if (stat(p.c_str(), &st) != 0) die("stat " + p);
               }) /
               double(paths.size()) * 1e6;
    };
    const auto small_paths = paths_in("small", kSmallDir), big_paths = paths_in("big", kBigDir);
    // Rounds alternate, so a slow moment of the shared machine hits both.
    std::vector<double> small_us, big_us;
    for (int round = 0; round < 9; round++) {
        small_us.push_back(stat_us(small_paths));
        big_us.push_back(stat_us(big_paths));
    }
    const double small = median(small_us), big = median(big_us);
    const bool pass = big <= small * 1.25;
    misses += !pass;
    std::printf("%-46s %8.2f us  in dir of 10: %6.2f us  ratio %5.2f (target <= 1.25)  %s\n",
                "stat (-t 0) in a dir of 10 000 files", big, small, big / small,
                pass ? "PASS" : "MISS");
}

void bench_mount_time(const Scratch& s, BenchDevice& d) {
    std::vector<double> ms;
    for (int i = 0; i < 5; i++) {
        auto h = Host::master(s, "mt" + std::to_string(i));
        const auto t0 = Clock::now();
        if (auto err = h->mount(d.path); !err.empty()) die(err);
        struct stat st;
        if (stat(h->path("small/f9").c_str(), &st) != 0) die("the tree is not served");
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        h->unmount();
    }
    report_time("mount, full 8 MiB log, until served", median(ms), 100);
}

void bench_follow(const Scratch& s, BenchDevice& d) {
    auto client = Host::client(s, "follower");
    if (auto err = client->mount(d.path); !err.empty()) die(err);
    std::vector<double> ms;
    for (int i = 0; i < 30; i++) {
        const std::string name = "follow" + std::to_string(i);
        d.create("fdir/" + name, 4096);
        const auto t0 = Clock::now();
        // readdir only shows what the follower applied (lookups catch up).
        const bool seen = wait_until(
            [&] {
                auto names = list_dir(client->path("fdir"));
                return std::find(names.begin(), names.end(), name) != names.end();
            },
            2000);
        if (!seen) die("follow: " + name + " never appeared on the client");
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    }
    report_time("follow: logged -> visible on a client (median)", median(ms), 10);
}

}  // namespace

int main() {
    const std::string uuid_file = "/tmp/famfs-bench-fuse-uuid-" + std::to_string(getpid());
    setenv("FAMFS_SYSTEM_UUID_FILE", uuid_file.c_str(), 1);
    Scratch scratch;
    {
        BenchDevice dev("bench-fuse", 32 * kGiB);
        dev.create("seq", kSeqSize);
        dev.mkdir("small");
        for (int i = 0; i < kSmallDir; i++) dev.create("small/f" + std::to_string(i), 4096);
        dev.mkdir("fdir");
        {
            auto m = mount_master(scratch, "m", dev);
            bench_sequential(dev, *m, "[direct]", 0.25);
            bench_open_close(*m);
        }
        {
            auto ma = mount_master(scratch, "ma", dev, {"-a"});
            bench_sequential(dev, *ma, "[direct -a]", std::nullopt);
        }
        {
            auto mc = mount_master(scratch, "mc", dev, {"-c"});
            bench_sequential(dev, *mc, "[cached -c]", std::nullopt);
        }
        dev.mkdir("big");
        for (int i = 0; i < kBigDir; i++) dev.create("big/f" + std::to_string(i), 4096);
        {
            auto m0 = mount_master(scratch, "m0", dev, {"-t", "0"});
            bench_stat_scaling(*m0);
        }
        bench_follow(scratch, dev);
        // Fill the log to the last entry with directories.
        const uint64_t cap = dev.vol->log().capacity();
        for (uint64_t i = dev.vol->log().next_index(); i < cap; i++)
            dev.mkdir("d" + std::to_string(i));
        report_info("log entries at mount-time test", double(dev.vol->log().next_index()),
                    "entries");
        bench_mount_time(scratch, dev);
    }
    unlink(uuid_file.c_str());
    return 0;
}
