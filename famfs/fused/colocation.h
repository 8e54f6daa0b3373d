// Serving a data request on the CPU of the thread that sent it
// (README-datapath.md, "Data requests on the requester's CPU").
//
// A client streaming through the mount sleeps in the kernel while the
// server copies its data. On a virtual machine whose idle CPUs halt, waking
// the client on its own, halted CPU costs tens of microseconds per request;
// on the project's 2-core VM that was about a quarter of 1 MiB read
// throughput. So the thread that serves a data request itself moves to the
// requester's CPU, and sends the reply as a SCHED_IDLE thread: the
// scheduler then treats that CPU as free and wakes the client right there,
// where it preempts the server at once. The server thread returns to its
// normal policy as soon as it runs again. A watchdog restores the policy of
// a thread that has not run again within a few milliseconds (a busy CPU
// would otherwise starve it while it holds the reader role).
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>

namespace famfs::fused::colocation {

// Turns the mechanism on when `wanted` and the process can use it: more
// than one CPU, the normal scheduling policy, and the right to return a
// thread from SCHED_IDLE (root, or RLIMIT_NICE). Starts the watchdog.
// Returns whether it is on.
bool start(bool wanted);
// Stops the watchdog; data requests are then served where they are read.
void stop();

// Called by the thread that will serve a data request from `requester` (the
// request's pid: the sending thread) itself: moves this thread to the
// requester's CPU, and makes its next reply yield that CPU.
void before_serving(pid_t requester);

// writev(2) of a reply to /dev/fuse, as a SCHED_IDLE thread when
// before_serving() asked for it.
ssize_t send_reply(int fd, const iovec* iov, int count);

// For .meta/.status.
struct Stats {
    bool on = false;
    std::string why_off;            // when !on
    uint64_t moves = 0;             // times a serving thread moved to a requester's CPU
    uint64_t yielding_replies = 0;  // replies sent as SCHED_IDLE on the requester's CPU
    uint64_t rescues = 0;           // threads the watchdog returned to their policy
};
Stats stats();

}  // namespace famfs::fused::colocation
