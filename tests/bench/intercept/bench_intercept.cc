// Interception library speed targets (issue 18), side by side in one run.
// The figures "under the library" are measured by this program run again
// (--child) with libfamfs_intercept.so preloaded, on a file of a famfs
// mount. The child stays up and does one pass per command, so its passes
// alternate one by one with the baseline's, measured here without the
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
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
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
constexpr double kGB = double(kSeqSize) / 1e9;  // one pass over the file
constexpr size_t kRandomOps = 200000;           // under the library and memcpy
constexpr size_t kMountRandomOps = 20000;       // the mount is 8-40x slower
constexpr int kRounds = 9;
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

// ---- the child: runs under the library, one pass per command ----

// Page tables of the library's fresh device mapping are filled by a first
// untimed pass over the file, as the baselines' mappings are by earlier
// rounds: the figures are the steady state, not first-touch faults.
void warm(int fd, uint8_t* buf) {
    for (uint64_t off = 0; off < kSeqSize; off += kMiB)
        if (pread(fd, buf, kMiB, off_t(off)) != ssize_t(kMiB)) die("short warming read");
}

// What the child holds open: the mounted file "seq".
struct ChildFile {
    int fd = -1;
    uint8_t* mem = nullptr;  // its mmap(), through the library
    uint8_t* buf = aligned_buffer(kMiB);
    std::vector<off_t> offs = random_offsets();
};

double child_pass(ChildFile& f, const std::string& cmd) {
    if (cmd == "pread4k") return random_preads(f.fd, f.offs, kRandomOps, f.buf);
    if (cmd == "read") return sequential(f.fd, f.buf, false);
    if (cmd == "write") return sequential(f.fd, f.buf, true);
    if (cmd == "load") return load_pass(f.mem);
    if (cmd == "store") return store_pass(f.mem);
    if (cmd.rfind("openclose ", 0) == 0) return open_close_rate(cmd.substr(10), kOpenWindowMs);
    die("unknown command " + cmd);
}

// Reads commands (one a line) until EOF and answers each with its figure.
int child_main(const std::string& path) {
    ChildFile f;
    f.fd = open_or_die(path, O_RDWR);
    void* p = mmap(nullptr, kSeqSize, PROT_READ | PROT_WRITE, MAP_SHARED, f.fd, 0);
    if (p == MAP_FAILED) die("mmap " + path + ": " + std::strerror(errno));
    f.mem = static_cast<uint8_t*>(p);
    char line[4096];
    while (std::fgets(line, sizeof line, stdin)) {
        const std::string cmd(line, std::strcspn(line, "\n"));
        if (cmd == "warm") {
            warm(f.fd, f.buf);
            load_pass(f.mem);
            std::printf("0\n");
        } else {
            std::printf("%.9g\n", child_pass(f, cmd));
        }
        std::fflush(stdout);
    }
    munmap(p, kSeqSize);
    close(f.fd);
    return 0;
}

// ---- the parent: drives a child and checks what the library served ----

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

// This program's own file (the report names the child after it).
std::string self_path() {
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) die("readlink /proc/self/exe");
    return std::string(buf, size_t(n));
}

// This program run again with the library preloaded, kept running so that
// its passes alternate with the baseline's one by one.
class LibraryChild {
  public:
    explicit LibraryChild(const std::string& path) {
        unlink(report_file_.c_str());
        std::vector<std::string> args = {self_path(), "--child", path};
        std::vector<std::string> env = child_environment(report_file_);
        auto argv = c_strings(args), envp = c_strings(env);
        int to[2], from[2];
        if (pipe(to) != 0 || pipe(from) != 0) die("pipe");
        pid_ = fork();
        if (pid_ < 0) die("fork");
        if (pid_ == 0) {
            dup2(to[0], STDIN_FILENO);
            dup2(from[1], STDOUT_FILENO);
            for (int fd : {to[0], to[1], from[0], from[1]}) close(fd);
            execve(argv[0], argv.data(), envp.data());
            _exit(127);
        }
        close(to[0]);
        close(from[1]);
        in_ = fdopen(to[1], "w");
        out_ = fdopen(from[0], "r");
        if (!in_ || !out_) die("fdopen");
    }
    LibraryChild(const LibraryChild&) = delete;
    LibraryChild& operator=(const LibraryChild&) = delete;
    ~LibraryChild() {
        if (pid_ > 0) finish();
    }

    // One pass of `cmd` in the child: its figure.
    double ask(const std::string& cmd) {
        std::fprintf(in_, "%s\n", cmd.c_str());
        std::fflush(in_);
        double v = 0;
        if (std::fscanf(out_, "%lf", &v) != 1) die("the child under the library stopped at " + cmd);
        return v;
    }

    // Ends the child; returns the library's report ("" when it printed none).
    std::string finish() {
        std::fclose(in_);
        std::fclose(out_);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("the child under the library failed");
        std::string text = slurp(report_file_);
        unlink(report_file_.c_str());
        return text;
    }

  private:
    const std::string report_file_ =
        "/tmp/famfs-bench-intercept-report-" + std::to_string(getpid());
    pid_t pid_ = -1;
    FILE* in_ = nullptr;
    FILE* out_ = nullptr;
};

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

// One figure against its baseline, from rates measured in alternating
// rounds: the medians, and the median of each round's ratio (a drift of the
// machine's speed between rounds cancels out of it); with a target, the
// verdict.
void report(const std::string& name, const std::vector<double>& values,
            const std::vector<double>& bases, const char* unit, const char* base_name,
            std::optional<double> target, bool served = true) {
    std::vector<double> ratios;
    for (size_t i = 0; i < values.size(); i++) ratios.push_back(values[i] / bases[i]);
    const double value = median(values), base = median(bases), ratio = median(ratios);
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

// A child on "seq" with the library's mappings warmed.
std::unique_ptr<LibraryChild> warm_child(const Setup& s) {
    auto child = std::make_unique<LibraryChild>(s.mount.path("seq"));
    child->ask("warm");
    return child;
}

void bench_random_reads(const Setup& s) {
    const auto offs = random_offsets();
    uint8_t* buf = aligned_buffer(kMiB);
    std::vector<double> cpy, lib, mnt, dio;
    auto child = warm_child(s);
    for (int r = 0; r < kRounds; r++) {
        cpy.push_back(double(kRandomOps) / seconds_of([&] {
                          for (off_t o : offs) std::memcpy(buf, s.mem + o, 4096);
                      }));
        lib.push_back(child->ask("pread4k"));
        mnt.push_back(mount_random_preads(s, 0, offs, buf));
        dio.push_back(mount_random_preads(s, O_DIRECT, offs, buf));
    }
    const bool served = check_served("4 KiB random pread", child->finish(), {"pread"});
    report("4 KiB random pread, library", lib, cpy, "/s", "memcpy", 0.5, served);
    report("4 KiB random pread, the mount", mnt, cpy, "/s", "memcpy", std::nullopt);
    report("4 KiB random pread, the mount, O_DIRECT", dio, cpy, "/s", "memcpy", std::nullopt);
    std::free(buf);
}

void bench_sequential(const Setup& s) {
    uint8_t* buf = aligned_buffer(kMiB);
    std::vector<double> cpy_r, cpy_w, lib_r, lib_w;
    auto child = warm_child(s);
    for (int r = 0; r < kRounds; r++) {
        cpy_r.push_back(kGB / seconds_of([&] {
                            for (uint64_t off = 0; off < kSeqSize; off += kMiB)
                                std::memcpy(buf, s.mem + off, kMiB);
                        }));
        lib_r.push_back(kGB / child->ask("read"));
        cpy_w.push_back(kGB / seconds_of([&] {
                            for (uint64_t off = 0; off < kSeqSize; off += kMiB)
                                std::memcpy(s.mem + off, buf, kMiB);
                        }));
        lib_w.push_back(kGB / child->ask("write"));
    }
    const bool served = check_served("1 MiB read/write", child->finish(), {"read", "write"});
    report("seq read 1 MiB, read() library", lib_r, cpy_r, "GB/s", "memcpy", 0.9, served);
    report("seq write 1 MiB, write() library", lib_w, cpy_w, "GB/s", "memcpy", 0.9, served);
    std::free(buf);
}

void bench_mmap(const Setup& s) {
    std::vector<double> dax_l, dax_s, lib_l, lib_s;
    auto child = warm_child(s);
    load_pass(s.mem);
    for (int r = 0; r < kRounds; r++) {
        dax_l.push_back(kGB / load_pass(s.mem));
        lib_l.push_back(kGB / child->ask("load"));
        dax_s.push_back(kGB / store_pass(s.mem));
        lib_s.push_back(kGB / child->ask("store"));
    }
    const bool served = check_served("mmap loads/stores", child->finish(), {"mmap"});
    report("mmap loads (8-byte words), library", lib_l, dax_l, "GB/s", "dax", 0.95, served);
    report("mmap stores (8-byte words), library", lib_s, dax_s, "GB/s", "dax", 0.95, served);
}

// The child's own use of "seq" shows in its report that the library took
// the mount's files as its own (open counts a file once it is served).
void bench_open_close(const Setup& s) {
    const std::string path = s.mount.path("small");
    for (int i = 0; i < 1000; i++) close(open_or_die(path, O_RDONLY));  // warm the dentry
    std::vector<double> lib, mnt;
    auto child = warm_child(s);
    for (int r = 0; r < kOpenRounds; r++) {
        lib.push_back(child->ask("openclose " + path));
        mnt.push_back(open_close_rate(path, kOpenWindowMs));
    }
    const bool served = check_served("open+close", child->finish(), {"open"});
    report("open+close of an existing file, library", lib, mnt, "/s", "mount", 0.5, served);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--child") == 0) return child_main(argv[2]);
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
        const Setup s{*m, mem.data()};
        bench_random_reads(s);
        bench_sequential(s);
        bench_mmap(s);
        bench_open_close(s);
    }
    unlink(uuid_file.c_str());
    std::printf("bench_intercept: %d of 7 targets missed, %d group(s) not served\n", misses,
                not_served);
    return not_served ? 1 : 0;
}
