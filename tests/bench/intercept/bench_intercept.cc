// Interception library speed targets (issue 18), side by side in one run.
// Each figure "under the library" is measured by this program run again
// (--child) with libfamfs_intercept.so preloaded, on a file of a famfs
// mount; its baseline is measured here, in the same rounds, without the
// library: memcpy from the file's mapping, loads and stores through the
// direct-access API, or the mount itself. One line per figure: value,
// baseline, ratio, target, PASS/MISS. A child whose report
// (FAMFS_INTERCEPT_REPORT) does not show its calls served from memory
// prints NOT SERVED, and the program then exits 1: its figure would be the
// mount's, not the library's.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../bench_mount.h"
#include "../bench_stats.h"
#include "famfs/dax.h"
#include "famfs/omf.h"
#include "fuse_hosts.h"

extern char** environ;

namespace {

using famfs::bench::die;
using famfs::bench::median;
using famfs::bench::seconds_of;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = famfs::omf::kMiB;
constexpr uint64_t kSeqSize = 512 * kMiB;
constexpr size_t kRandomOps = 200000;      // under the library and memcpy
constexpr size_t kMountRandomOps = 20000;  // the mount is ~40x slower
constexpr int kRounds = 5;
constexpr int kPasses = 3;  // whole-file passes of each kind per round
constexpr int kOpenRounds = 7;
constexpr int kOpenWindowMs = 300;

// ---- the measured work, the same code for the child and the baselines ----

std::vector<off_t> random_offsets() {
    std::mt19937_64 rng(42);
    std::vector<off_t> offs(kRandomOps);
    for (auto& o : offs) o = off_t((rng() % (kSeqSize / 4096)) * 4096);
    return offs;
}

uint8_t* aligned_buffer(size_t n) {
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(4096, n));
    if (!p) die("out of memory");
    std::memset(p, 0x3c, n);
    return p;
}

// Reads of 4 KiB at `offs` (the first `count`); returns reads per second.
double random_preads(int fd, const std::vector<off_t>& offs, size_t count, uint8_t* buf) {
    const double t = seconds_of([&] {
        for (size_t i = 0; i < count; i++)
            if (pread(fd, buf, 4096, offs[i]) != 4096) die("short 4 KiB read");
    });
    return double(count) / t;
}

int open_or_die(const std::string& path, int flags) {
    const int fd = open(path.c_str(), flags);
    if (fd < 0) die("open " + path + ": " + std::strerror(errno));
    return fd;
}

// The whole file with read() or write() of 1 MiB from offset 0; seconds.
double sequential(int fd, uint8_t* buf, bool writing) {
    if (lseek(fd, 0, SEEK_SET) != 0) die("lseek");
    return seconds_of([&] {
        for (uint64_t off = 0; off < kSeqSize; off += kMiB) {
            const ssize_t n = writing ? write(fd, buf, kMiB) : read(fd, buf, kMiB);
            if (n != ssize_t(kMiB)) die(writing ? "short write" : "short read");
        }
    });
}

// Loads and stores of 8-byte words over a whole mapping, out of line so the
// child and the baseline run the very same instructions.
__attribute__((noinline)) uint64_t load_words(const uint8_t* mem, size_t n) {
    const auto* w = reinterpret_cast<const uint64_t*>(mem);
    uint64_t sum = 0;
    for (size_t i = 0; i < n / 8; i++) sum += w[i];
    return sum;
}

__attribute__((noinline)) void store_words(uint8_t* mem, size_t n, uint64_t v) {
    auto* w = reinterpret_cast<uint64_t*>(mem);
    for (size_t i = 0; i < n / 8; i++) w[i] = v + i;
}

volatile uint64_t g_sink;

double load_pass(const uint8_t* mem) {
    return seconds_of([&] { g_sink = load_words(mem, kSeqSize); });
}

double store_pass(uint8_t* mem) {
    return seconds_of([&] { store_words(mem, kSeqSize, g_sink); });
}

// The median times of a() and of b(), run in turn kPasses times each: one
// round's figures, less at the mercy of a single slow moment.
std::pair<double, double> in_turn(const std::function<double()>& a,
                                  const std::function<double()>& b) {
    std::vector<double> ta, tb;
    for (int i = 0; i < kPasses; i++) {
        ta.push_back(a());
        tb.push_back(b());
    }
    return {median(ta), median(tb)};
}

// open+close of `path` for `ms` milliseconds; returns the rate per second.
double open_close_rate(const std::string& path, int ms) {
    uint64_t n = 0;
    const double t = seconds_of([&] {
        const auto end = Clock::now() + std::chrono::milliseconds(ms);
        while (Clock::now() < end) {
            for (int i = 0; i < 100; i++, n++) close(open_or_die(path, O_RDONLY));
        }
    });
    return double(n) / t;
}

// ---- the child: runs under the library and prints its figures ----

// Page tables of the library's fresh device mapping are filled by a first
// untimed pass over the file, as the baselines' mappings are by earlier
// rounds: the figures are the steady state, not first-touch faults.
void warm(int fd, uint8_t* buf) {
    for (uint64_t off = 0; off < kSeqSize; off += kMiB)
        if (pread(fd, buf, kMiB, off_t(off)) != ssize_t(kMiB)) die("short warming read");
}

int child_main(const std::string& kind, const std::string& path) {
    uint8_t* buf = aligned_buffer(kMiB);
    if (kind == "pread4k") {
        const int fd = open_or_die(path, O_RDONLY);
        warm(fd, buf);
        std::printf("%.9g\n", random_preads(fd, random_offsets(), kRandomOps, buf));
        close(fd);
    } else if (kind == "seq") {
        const int fd = open_or_die(path, O_RDWR);
        warm(fd, buf);
        const auto [r, w] = in_turn([&] { return sequential(fd, buf, false); },
                                    [&] { return sequential(fd, buf, true); });
        std::printf("%.9g\n%.9g\n", r, w);
        close(fd);
    } else if (kind == "mmap") {
        const int fd = open_or_die(path, O_RDWR);
        void* p = mmap(nullptr, kSeqSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) die("mmap " + path + ": " + std::strerror(errno));
        auto* mem = static_cast<uint8_t*>(p);
        load_pass(mem);
        const auto [loads, stores] =
            in_turn([&] { return load_pass(mem); }, [&] { return store_pass(mem); });
        std::printf("%.9g\n%.9g\n", loads, stores);
        munmap(p, kSeqSize);
        close(fd);
    } else if (kind == "openclose") {
        for (int i = 0; i < 1000; i++) close(open_or_die(path, O_RDONLY));
        std::printf("%.9g\n", open_close_rate(path, kOpenWindowMs));
        // A read, so the report shows the library took the file as its own.
        const int fd = open_or_die(path, O_RDONLY);
        if (pread(fd, buf, 1, 0) != 1) die("short read");
        close(fd);
    } else {
        die("unknown child figure " + kind);
    }
    std::free(buf);
    return 0;
}

// ---- the parent: starts children and checks what the library served ----

struct ChildRun {
    std::vector<double> figures;
    std::string report;  // the library's report, empty when it printed none
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> child_environment(const std::string& report_file) {
    std::vector<std::string> env;
    std::string preload = FAMFS_INTERCEPT_LIB;
    for (char** e = environ; *e; e++) {
        const std::string kv = *e;
        if (kv.rfind("LD_PRELOAD=", 0) == 0) {
            preload += ":" + kv.substr(11);
        } else if (kv.rfind("FAMFS_INTERCEPT_REPORT=", 0) != 0) {
            env.push_back(kv);
        }
    }
    env.push_back("LD_PRELOAD=" + preload);
    env.push_back("FAMFS_INTERCEPT_REPORT=" + report_file);
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

std::vector<double> parse_figures(const std::string& out, const std::string& kind) {
    std::vector<double> figures;
    std::istringstream in(out);
    for (double v; in >> v;) figures.push_back(v);
    if (figures.empty()) die("child " + kind + " printed no figure");
    return figures;
}

// This program's own file (the report names the child after it).
std::string self_path() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) die("readlink /proc/self/exe");
    return std::string(buf, size_t(n));
}

ChildRun run_child(const std::string& kind, const std::string& path) {
    const std::string report_file = "/tmp/famfs-bench-intercept-report-" + std::to_string(getpid());
    unlink(report_file.c_str());
    std::vector<std::string> args = {self_path(), "--child", kind, path};
    std::vector<std::string> env = child_environment(report_file);
    auto argv = c_strings(args), envp = c_strings(env);
    int pipefd[2];
    if (pipe(pipefd) != 0) die("pipe");
    const pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    close(pipefd[1]);
    std::string out;
    char chunk[512];
    for (ssize_t n; (n = read(pipefd[0], chunk, sizeof chunk)) > 0;) out.append(chunk, size_t(n));
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("child " + kind + " failed");
    ChildRun run{parse_figures(out, kind), slurp(report_file)};
    unlink(report_file.c_str());
    return run;
}

int not_served = 0;
int misses = 0;

// True when the report's "served from memory" line counts every one of
// `calls`; else prints NOT SERVED with the report.
bool check_served(const std::string& what, const std::string& report,
                  const std::vector<std::string>& calls) {
    const std::string key = "served from memory: ";
    const size_t at = report.find(key);
    std::string line = at == std::string::npos ? "" : report.substr(at + key.size());
    line = ", " + line.substr(0, line.find('\n'));
    bool all = at != std::string::npos;
    for (const auto& c : calls) all = all && line.find(", " + c + " ") != std::string::npos;
    if (!all) {
        not_served++;
        std::printf("NOT SERVED: %s under the library; its report:\n%s\n", what.c_str(),
                    report.empty() ? "  (none: the library did not load or met no famfs file)\n"
                                   : report.c_str());
    }
    return all;
}

// One figure against its baseline: the ratio and, with a target, the verdict.
void report(const std::string& name, double value, double base, const char* unit,
            const char* base_name, std::optional<double> target, bool served = true) {
    const double ratio = value / base;
    const int prec = std::strcmp(unit, "GB/s") == 0 ? 2 : 0;
    std::printf("%-44s %10.*f %-4s  %-6s %10.*f  ratio %6.3f", name.c_str(), prec, value, unit,
                base_name, prec, base, ratio);
    if (!target) {
        std::printf("                   info\n");
        std::fflush(stdout);
        return;
    }
    const bool pass = served && ratio >= *target;
    misses += served && !pass;
    std::printf(" (target >= %.2f)  %s\n", *target,
                !served ? "NOT SERVED"
                : pass  ? "PASS"
                        : "MISS");
    std::fflush(stdout);
}

struct Setup {
    famfs::bench::BenchDevice& dev;
    famfs::fusetest::Host& mount;
    uint8_t* mem;  // the file "seq" through the direct-access API
};

// Each open drops the pages the mount cached (keep_cache = 0): the same
// offsets in the next round are cold again.
double mount_random_preads(const Setup& s, int flags, const std::vector<off_t>& offs,
                           uint8_t* buf) {
    const int fd = open_or_die(s.mount.path("seq"), O_RDONLY | flags);
    const double rate = random_preads(fd, offs, kMountRandomOps, buf);
    close(fd);
    return rate;
}

void bench_random_reads(const Setup& s) {
    const auto offs = random_offsets();
    uint8_t* buf = aligned_buffer(kMiB);
    std::vector<double> cpy, lib, mnt, dio;
    bool served = true;
    for (int r = 0; r < kRounds; r++) {
        cpy.push_back(double(kRandomOps) / seconds_of([&] {
                          for (off_t o : offs) std::memcpy(buf, s.mem + o, 4096);
                      }));
        auto run = run_child("pread4k", s.mount.path("seq"));
        lib.push_back(run.figures[0]);
        if (r == 0) served = check_served("4 KiB random pread", run.report, {"pread"});
        mnt.push_back(mount_random_preads(s, 0, offs, buf));
        dio.push_back(mount_random_preads(s, O_DIRECT, offs, buf));
    }
    const double c = median(cpy);
    report("4 KiB random pread, library", median(lib), c, "/s", "memcpy", 0.5, served);
    report("4 KiB random pread, the mount", median(mnt), c, "/s", "memcpy", std::nullopt);
    report("4 KiB random pread, the mount, O_DIRECT", median(dio), c, "/s", "memcpy", std::nullopt);
    std::free(buf);
}

void bench_sequential(const Setup& s) {
    uint8_t* buf = aligned_buffer(kMiB);
    std::vector<double> cpy_r, cpy_w, lib_r, lib_w;
    bool served = true;
    for (int r = 0; r < kRounds; r++) {
        const auto [cr, cw] = in_turn(
            [&] {
                return seconds_of([&] {
                    for (uint64_t off = 0; off < kSeqSize; off += kMiB)
                        std::memcpy(buf, s.mem + off, kMiB);
                });
            },
            [&] {
                return seconds_of([&] {
                    for (uint64_t off = 0; off < kSeqSize; off += kMiB)
                        std::memcpy(s.mem + off, buf, kMiB);
                });
            });
        cpy_r.push_back(cr);
        cpy_w.push_back(cw);
        auto run = run_child("seq", s.mount.path("seq"));
        if (run.figures.size() != 2) die("child seq printed no write figure");
        lib_r.push_back(run.figures[0]);
        lib_w.push_back(run.figures[1]);
        if (r == 0) served = check_served("1 MiB read/write", run.report, {"read", "write"});
    }
    const double gb = double(kSeqSize) / 1e9;
    report("seq read 1 MiB, read() library", gb / median(lib_r), gb / median(cpy_r), "GB/s",
           "memcpy", 0.9, served);
    report("seq write 1 MiB, write() library", gb / median(lib_w), gb / median(cpy_w), "GB/s",
           "memcpy", 0.9, served);
    std::free(buf);
}

void bench_mmap(const Setup& s) {
    std::vector<double> dax_l, dax_s, lib_l, lib_s;
    bool served = true;
    load_pass(s.mem);
    for (int r = 0; r < kRounds; r++) {
        const auto [l, st] =
            in_turn([&] { return load_pass(s.mem); }, [&] { return store_pass(s.mem); });
        dax_l.push_back(l);
        dax_s.push_back(st);
        auto run = run_child("mmap", s.mount.path("seq"));
        if (run.figures.size() != 2) die("child mmap printed no store figure");
        lib_l.push_back(run.figures[0]);
        lib_s.push_back(run.figures[1]);
        if (r == 0) served = check_served("mmap loads/stores", run.report, {"mmap"});
    }
    const double gb = double(kSeqSize) / 1e9;
    report("mmap loads (8-byte words), library", gb / median(lib_l), gb / median(dax_l), "GB/s",
           "dax", 0.95, served);
    report("mmap stores (8-byte words), library", gb / median(lib_s), gb / median(dax_s), "GB/s",
           "dax", 0.95, served);
}

void bench_open_close(const Setup& s) {
    const std::string path = s.mount.path("small");
    for (int i = 0; i < 1000; i++) close(open_or_die(path, O_RDONLY));  // warm the dentry
    std::vector<double> lib, mnt;
    bool served = true;
    for (int r = 0; r < kOpenRounds; r++) {
        auto run = run_child("openclose", path);
        lib.push_back(run.figures[0]);
        if (r == 0) served = check_served("open+close", run.report, {"open"});
        mnt.push_back(open_close_rate(path, kOpenWindowMs));
    }
    report("open+close of an existing file, library", median(lib), median(mnt), "/s", "mount", 0.5,
           served);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::strcmp(argv[1], "--child") == 0) return child_main(argv[2], argv[3]);
    const std::string uuid_file = "/tmp/famfs-bench-intercept-uuid-" + std::to_string(getpid());
    setenv("FAMFS_SYSTEM_UUID_FILE", uuid_file.c_str(), 1);
    {
        famfs::fusetest::Scratch scratch;
        famfs::bench::BenchDevice dev("bench-intercept", 4 * famfs::omf::kGiB);
        dev.create("seq", kSeqSize);
        dev.create("small", 4096);
        auto m = famfs::bench::mount_master(scratch, "m", dev);
        auto map = famfs::dax::FileMapping::from_entry(dev.vol->shared_device(),
                                                       dev.vol->load()->ns.lookup("seq")->file);
        if (!map) die(map.error().message);
        auto mem = map->contiguous();
        if (mem.size() != kSeqSize) die("seq is not contiguous");
        std::memset(mem.data(), 0x5a, mem.size());
        std::printf("(figures under the library from %s)\n", FAMFS_INTERCEPT_LIB);
        const Setup s{dev, *m, mem.data()};
        bench_random_reads(s);
        bench_sequential(s);
        bench_mmap(s);
        bench_open_close(s);
    }
    unlink(uuid_file.c_str());
    return not_served ? 1 : 0;
}
