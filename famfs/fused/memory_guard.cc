#include "memory_guard.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/prctl.h>

#include "server.h"

namespace famfs::fused {

namespace {

// Initial-exec TLS in the executable: safe to read in a signal handler.
thread_local sigjmp_buf* t_guard = nullptr;
Server* g_server = nullptr;

void on_sigbus(int sig, siginfo_t* si, void* ctx) {
    (void)ctx;
    if (si->si_code == BUS_MCEERR_AO) {
        // Reported early, before anyone touched it: nothing to unwind.
        if (g_server) g_server->note_memory_failure(si->si_addr);
        return;
    }
    if (t_guard) {
        if (g_server) g_server->note_memory_failure(si->si_addr);
        siglongjmp(*t_guard, 1);
    }
    // Not a touch we guard: die of it, as without a handler.
    signal(sig, SIG_DFL);
    raise(sig);
}

}  // namespace

void install_memory_guard(Server& s) {
    g_server = &s;
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, nullptr);
    // Best effort: fails harmlessly where memory-failure handling is absent.
    prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0);
}

bool run_guarded(void (*fn)(void*), void* arg) {
    sigjmp_buf buf;
    sigjmp_buf* volatile outer = t_guard;
    if (sigsetjmp(buf, 1) != 0) {
        t_guard = outer;
        return false;
    }
    t_guard = &buf;
    fn(arg);
    t_guard = outer;
    return true;
}

}  // namespace famfs::fused
