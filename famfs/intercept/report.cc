#include "report.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "real_calls.h"

namespace famfs::intercept {

namespace {

constexpr size_t kCalls = static_cast<size_t>(Call::kCount);
constexpr std::array<const char*, kCalls> kNames = {
    "open",   "read",    "pread",    "readv", "preadv", "write",     "pwrite",
    "writev", "pwritev", "lseek",    "fstat", "fsync",  "fdatasync", "mmap",
    "munmap", "msync",   "mprotect", "dup",   "close"};

struct Counters {
    std::array<std::atomic<uint64_t>, kCalls> served{};
    std::array<std::atomic<uint64_t>, kCalls> passed{};
    std::atomic<uint64_t> other{0};
    std::mutex mu;
    std::map<std::string, uint64_t> reasons;  // guarded by mu
    std::string destination;                  // set once by init_report
    int stderr_copy = -1;                     // programs may close stderr before exit handlers run
};

// Set once, before the first interposed call: without a report nothing is
// counted, so calls on other descriptors cost no shared cache line.
bool g_reporting = false;

// Never destroyed: interposed calls may run during and after exit().
Counters& counters() {
    static Counters* c = new Counters;
    return *c;
}

std::string list(const std::array<std::atomic<uint64_t>, kCalls>& counts) {
    std::string out;
    for (size_t i = 0; i < kCalls; i++) {
        const uint64_t n = counts[i].load(std::memory_order_relaxed);
        if (n == 0) continue;
        out += (out.empty() ? "" : ", ") + std::string(kNames[i]) + " " + std::to_string(n);
    }
    return out.empty() ? "nothing" : out;
}

void write_all(int fd, const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = real().write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        done += static_cast<size_t>(n);
    }
}

bool met_famfs() {
    Counters& c = counters();
    for (size_t i = 0; i < kCalls; i++) {
        if (c.served[i].load() || c.passed[i].load()) return true;
    }
    std::lock_guard lock(c.mu);
    return !c.reasons.empty();
}

void print_report() {
    if (!met_famfs()) return;
    LibraryScope scope;
    const std::string& dest = counters().destination;
    const std::string text = report_text();
    if (dest == "1" || dest == "stderr") {
        write_all(counters().stderr_copy, text);
        return;
    }
    const int fd = real().open(dest.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return;
    write_all(fd, text);
    real().close(fd);
}

}  // namespace

void count_served(Call c) {
    if (g_reporting)
        counters().served[static_cast<size_t>(c)].fetch_add(1, std::memory_order_relaxed);
}

void count_passed(Call c) {
    if (g_reporting)
        counters().passed[static_cast<size_t>(c)].fetch_add(1, std::memory_order_relaxed);
}

void count_other() {
    if (g_reporting) counters().other.fetch_add(1, std::memory_order_relaxed);
}

void note_fallback(const std::string& what) {
    Counters& c = counters();
    std::lock_guard lock(c.mu);
    if (c.reasons.size() < 64 || c.reasons.count(what)) c.reasons[what]++;
}

std::string report_text() {
    Counters& c = counters();
    std::string out = "famfs intercept: pid " + std::to_string(getpid()) + " (" +
                      program_invocation_short_name + ")\n";
    out += "  served from memory: " + list(c.served) + "\n";
    out += "  passed to the mount: " + list(c.passed) + "\n";
    out += "  calls on other descriptors: " + std::to_string(c.other.load()) + "\n";
    std::lock_guard lock(c.mu);
    for (const auto& [what, n] : c.reasons) {
        out += "  not served: " + what + " (" + std::to_string(n) + (n == 1 ? " time" : " times") +
               ")\n";
    }
    return out;
}

void lock_report_for_fork() {
    counters().mu.lock();
}

void unlock_report_after_fork() {
    counters().mu.unlock();
}

void init_report() {
    const char* dest = std::getenv("FAMFS_INTERCEPT_REPORT");
    if (!dest || !*dest || std::strcmp(dest, "0") == 0) return;
    g_reporting = true;
    counters().destination = dest;
    counters().stderr_copy = real().fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 64);
    std::atexit(print_report);
}

}  // namespace famfs::intercept
