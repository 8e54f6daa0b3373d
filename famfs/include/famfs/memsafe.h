// Poison-safe memory access. Touching poisoned memory (a memory failure, or
// a page the kernel has offlined) raises SIGBUS. Loops that copy or compare
// device memory go through these functions, which turn that SIGBUS into an
// EIO error carrying the offset that failed, instead of killing the process.
//
// How: a process-wide SIGBUS handler (installed on first use, chaining to
// the previous disposition for faults outside a guarded copy) jumps back
// into the guarded call on the thread that faulted. Only memory touched
// inside these calls is guarded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "famfs/result.h"

namespace famfs::memsafe {

struct Fault {
    // Start of the failed page (memory fails a page at a time), relative to
    // the start of the guarded range; never before it.
    uint64_t offset = 0;
    int si_code = 0;  // BUS_MCEERR_AR, BUS_MCEERR_AO, BUS_ADRERR, ...
};

// Copies n bytes; on SIGBUS returns EIO naming the offset (relative to src
// when the source faulted, else to dst).
Status copy(void* dst, const void* src, size_t n);

// Runs fn(arg); a SIGBUS inside it whose address lies in [base, base + len)
// becomes an EIO error with that offset. fn must not hold locks or own
// resources across the faulting access (it is abandoned mid-way). Guards
// nest: an inner guarded call restores the outer one when it returns.
Status guarded_call(const void* base, size_t len, void (*fn)(void*), void* arg);

template <class F>
Status guarded(const void* base, size_t len, F&& fn) {
    return guarded_call(
        base, len, [](void* p) { (*static_cast<std::remove_reference_t<F>*>(p))(); }, &fn);
}

// Last fault seen by guarded()/copy() on this thread.
Fault last_fault();

// Turns on early memory-failure notification for this process
// (PR_MCE_KILL_EARLY): the kernel then sends SIGBUS with BUS_MCEERR_AO as
// soon as memory this process maps fails, not only when it is touched.
Status request_early_notification();

// Registers a callback for SIGBUS that arrives outside any guarded access
// (BUS_MCEERR_AO notifications): called from the signal handler with the
// faulting address, so it must only do async-signal-safe work (e.g. set an
// atomic flag). Without a callback such a SIGBUS terminates the process.
void on_async_failure(void (*fn)(const void* addr, int si_code));

}  // namespace famfs::memsafe
