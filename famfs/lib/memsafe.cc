#include "famfs/memsafe.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/prctl.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace famfs::memsafe {
namespace {

struct Range {
    const uint8_t* lo = nullptr;
    const uint8_t* hi = nullptr;
    bool contains(const uint8_t* p) const { return p >= lo && p < hi; }
};

struct Guard {
    sigjmp_buf env;
    Range ranges[2];
    const uint8_t* fault_addr = nullptr;
    bool armed = false;
};

thread_local Guard t_guard;
thread_local Fault t_fault;
std::atomic<void (*)(const void*, int)> g_async{nullptr};
struct sigaction g_previous;

void handler(int sig, siginfo_t* si, void* uctx) {
    Guard& g = t_guard;
    const uint8_t* addr = static_cast<const uint8_t*>(si->si_addr);
    if (g.armed && (g.ranges[0].contains(addr) || g.ranges[1].contains(addr))) {
        g.armed = false;
        // Memory fails a page at a time, and memcpy may touch a page's end
        // first: report the failed page's start (within the guarded range).
        auto page =
            reinterpret_cast<const uint8_t*>(reinterpret_cast<uintptr_t>(addr) & ~uintptr_t{4095});
        const Range& hit = g.ranges[0].contains(addr) ? g.ranges[0] : g.ranges[1];
        g.fault_addr = page < hit.lo ? hit.lo : page;
        t_fault.si_code = si->si_code;
        siglongjmp(g.env, 1);
    }
    if (si->si_code == BUS_MCEERR_AO) {
        if (auto fn = g_async.load()) {
            fn(si->si_addr, si->si_code);
            return;
        }
    }
    // Not ours: behave as if we had never been installed.
    if (g_previous.sa_flags & SA_SIGINFO && g_previous.sa_sigaction) {
        g_previous.sa_sigaction(sig, si, uctx);
        return;
    }
    if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN &&
        g_previous.sa_handler) {
        g_previous.sa_handler(sig);
        return;
    }
    signal(SIGBUS, SIG_DFL);
    raise(SIGBUS);
}

void install_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction sa {};
        sa.sa_sigaction = handler;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, &g_previous);
    });
}

Status fault_error(const char* what) {
    return make_error(EIO, std::string(what) + ": memory failure (SIGBUS, code " +
                               std::to_string(t_fault.si_code) + ") at offset " +
                               std::to_string(t_fault.offset));
}

}  // namespace

// Restores the thread's previous guard when a guarded call ends, however it
// ends, so guarded calls nest.
class SavedGuard {
  public:
    SavedGuard() : saved_(t_guard) {}
    ~SavedGuard() { t_guard = saved_; }

  private:
    Guard saved_;
};

Status guarded_call(const void* base, size_t len, void (*fn)(void*), void* arg) {
    install_once();
    SavedGuard restore;
    Guard& g = t_guard;
    const uint8_t* lo = static_cast<const uint8_t*>(base);
    g.ranges[0] = {lo, lo + len};
    g.ranges[1] = {};
    // No signal mask saved (a system call per guarded call): the handler
    // runs with SA_NODEFER and an empty sa_mask, so jumping out of it leaves
    // the thread's mask as it was when the guarded access faulted.
    if (sigsetjmp(g.env, 0) != 0) {
        t_fault.offset = static_cast<uint64_t>(g.fault_addr - lo);
        return fault_error("guarded access");
    }
    g.armed = true;
    fn(arg);
    return {};
}

Status copy(void* dst, const void* src, size_t n) {
    install_once();
    if (n == 0) return {};  // memcpy's pointers must be valid even then
    SavedGuard restore;
    Guard& g = t_guard;
    const uint8_t* s = static_cast<const uint8_t*>(src);
    const uint8_t* d = static_cast<const uint8_t*>(dst);
    g.ranges[0] = {s, s + n};
    g.ranges[1] = {d, d + n};
    if (sigsetjmp(g.env, 0) != 0) {  // no mask saved: see guarded_call
        bool in_src = g.ranges[0].contains(g.fault_addr);
        t_fault.offset = static_cast<uint64_t>(g.fault_addr - (in_src ? s : d));
        return fault_error(in_src ? "copy source" : "copy destination");
    }
    g.armed = true;
    std::memcpy(dst, src, n);
    return {};
}

Fault last_fault() {
    return t_fault;
}

Status request_early_notification() {
    install_once();
    if (prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0) < 0)
        return make_error(errno, std::string("prctl(PR_MCE_KILL_EARLY): ") + std::strerror(errno));
    return {};
}

void on_async_failure(void (*fn)(const void* addr, int si_code)) {
    install_once();
    g_async.store(fn);
}

}  // namespace famfs::memsafe
