// Survives faults on device memory. A SIGBUS raised while the server itself
// touches the mapping (the device file was truncated underneath, or the
// memory reports an uncorrectable error: BUS_MCEERR_AR) makes the guarded
// call return false instead of killing the server; the data path then marks
// the device failed and answers EIO. With PR_MCE_KILL_EARLY the kernel also
// tells us about failed pages we have not touched yet (BUS_MCEERR_AO): the
// device is marked failed at once. The mechanism is libfamfs's memsafe; this
// file only ties it to the server's device and failure state.
#pragma once

#include <cstddef>

#include "famfs/memsafe.h"

namespace famfs::fused {

class Server;

// Asks for early machine-check reports and routes them to the server.
void install_memory_guard(Server& s);

// The server's device mapping, and the failure hook, set by install.
struct GuardedRange {
    const void* base = nullptr;
    size_t len = 0;
    Server* server = nullptr;
};
const GuardedRange& guarded_range();
void note_guarded_failure(const Status& s);

// Runs fn(); false if it touched failed device memory (it was cut short
// and the device is now marked failed).
template <class F>
bool guarded(F&& fn) {
    const GuardedRange& r = guarded_range();
    Status s = memsafe::guarded(r.base, r.len, fn);
    if (!s) note_guarded_failure(s);
    return s.ok();
}

}  // namespace famfs::fused
