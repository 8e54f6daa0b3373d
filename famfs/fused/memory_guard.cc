#include "memory_guard.h"

#include "server.h"

namespace famfs::fused {
namespace {

GuardedRange g_range;

// Called from the SIGBUS handler: only async-signal-safe work (atomics).
void on_early_failure(const void* addr, int) {
    if (g_range.server) g_range.server->note_memory_failure(addr);
}

}  // namespace

void install_memory_guard(Server& s) {
    g_range = {s.device().base(), s.device().size(), &s};
    memsafe::on_async_failure(on_early_failure);
    // Best effort: fails harmlessly where memory-failure handling is absent.
    (void)memsafe::request_early_notification();
}

const GuardedRange& guarded_range() {
    return g_range;
}

void note_guarded_failure(const Status&) {
    if (!g_range.server) return;
    auto* at = static_cast<const uint8_t*>(g_range.base) + memsafe::last_fault().offset;
    g_range.server->note_memory_failure(at);
}

}  // namespace famfs::fused
