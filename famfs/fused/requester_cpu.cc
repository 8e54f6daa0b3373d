#include "requester_cpu.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <string>
#include <system_error>

#include "steady_clock.h"

namespace famfs::fused {

namespace {

// A thread that sleeps in a request stays on its CPU; one that moves is
// found again this much later at most.
constexpr int64_t kReuseNs = 1'000'000;

}  // namespace

int processor_field(std::string_view line) {
    constexpr int kProcessor = 39;
    const size_t paren = line.rfind(')');
    if (paren == std::string_view::npos) return -1;
    // Field 3 starts after ") ".
    size_t pos = paren + 1;
    for (int field = 3; field <= kProcessor; ++field) {
        if (pos >= line.size() || line[pos] != ' ') return -1;
        const size_t start = pos + 1;
        const size_t end = std::min(line.find(' ', start), line.size());
        if (field == kProcessor) {
            int cpu = -1;
            const auto [ptr, ec] = std::from_chars(line.data() + start, line.data() + end, cpu);
            return ec == std::errc() && ptr == line.data() + end && cpu >= 0 ? cpu : -1;
        }
        pos = end;
    }
    return -1;
}

RequesterCpu::~RequesterCpu() {
    if (fd_ >= 0) ::close(fd_);
}

int RequesterCpu::cpu_of(pid_t tid) {
    if (tid <= 0) return -1;
    const int64_t now = steady_ns();
    if (tid == tid_ && now - read_at_ns_ < kReuseNs) return cpu_;
    if (tid != tid_) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = ::open(("/proc/" + std::to_string(tid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC);
        tid_ = tid;
    }
    cpu_ = -1;
    read_at_ns_ = now;
    if (fd_ < 0) return -1;
    char buf[1024];
    const ssize_t n = ::pread(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
        cpu_ = processor_field(std::string_view(buf, static_cast<size_t>(n)));
    } else {
        // The thread has exited; its number may come back as another's.
        ::close(fd_);
        fd_ = -1;
        tid_ = 0;
    }
    return cpu_;
}

}  // namespace famfs::fused
