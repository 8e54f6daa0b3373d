// Which CPU a client thread is on, from /proc/<tid>/stat.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

namespace famfs::fused {

// The "processor" field (the 39th) of a /proc/<pid>/stat line: the CPU the
// task last ran on. -1 when the line is malformed. The command name (field
// 2) may hold spaces and parentheses, so fields are counted from the last ')'.
int processor_field(std::string_view stat_line);

// The CPU of one client thread at a time, for one server thread. Reading
// the stat file costs a few microseconds, so the answer is reused for a
// millisecond, and the file stays open while the same thread asks.
class RequesterCpu {
  public:
    RequesterCpu() = default;
    RequesterCpu(const RequesterCpu&) = delete;
    RequesterCpu& operator=(const RequesterCpu&) = delete;
    ~RequesterCpu();

    // -1 when unknown: no such thread in this pid namespace (tid 0).
    int cpu_of(pid_t tid);

  private:
    pid_t tid_ = 0;
    int fd_ = -1;
    int cpu_ = -1;
    int64_t read_at_ns_ = 0;
};

}  // namespace famfs::fused
