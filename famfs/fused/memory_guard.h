// Survives faults on device memory. A SIGBUS raised while the server itself
// touches the mapping (the device file was truncated underneath, or the
// memory reports an uncorrectable error: BUS_MCEERR_AR) makes the guarded
// call return false instead of killing the server; the data path then marks
// the device failed and answers EIO. With PR_MCE_KILL_EARLY the kernel also
// tells us about failed pages we have not touched yet (BUS_MCEERR_AO): the
// device is marked failed at once.
#pragma once

#include <cstdint>

namespace famfs::fused {

class Server;

// Installs the SIGBUS handler and asks for early machine-check reports.
void install_memory_guard(Server& s);

// Runs fn(arg); false if it raised SIGBUS (it was cut short).
bool run_guarded(void (*fn)(void*), void* arg);

template <class F>
bool guarded(F&& fn) {
    return run_guarded([](void* p) { (*static_cast<F*>(p))(); }, &fn);
}

}  // namespace famfs::fused
