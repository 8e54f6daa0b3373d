#include "colocation.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "requester_cpu.h"
#include "steady_clock.h"

namespace famfs::fused::colocation {

namespace {

// A yielding thread normally runs again within microseconds, as soon as the
// client it woke sleeps in its next request. Longer than this, its CPU is
// busy with other work, and it is returned to its policy.
constexpr auto kRescueAfter = std::chrono::milliseconds(2);
// The watchdog sleeps until the next yielding reply once none has been sent
// for this long, so an idle server has no timer running.
constexpr auto kWatchWhileActive = std::chrono::milliseconds(100);

bool set_policy(pid_t tid, int policy) {
    sched_param param{};
    return sched_setscheduler(tid, policy, &param) == 0;
}

std::atomic<bool> g_on{false};
std::string g_why_off = "not started";  // written before the serving threads exist
std::atomic<uint64_t> g_moves{0}, g_yielding_replies{0}, g_rescues{0};

// The thread replying as SCHED_IDLE, and since when (0: none). Only the
// reader role's holder serves data requests itself, so there is at most
// one. The start time is written last and names the yield.
std::atomic<pid_t> g_yielding_tid{0};
std::atomic<int64_t> g_yielding_since_ns{0};

thread_local bool t_yield_next_reply = false;
thread_local RequesterCpu t_requester;

// Returns a thread that has stayed SCHED_IDLE for kRescueAfter to the
// normal policy. It runs only while replies yield.
class Watchdog {
  public:
    ~Watchdog() { stop(); }

    void start() {
        std::lock_guard lk(mutex_);
        if (thread_.joinable()) return;
        stop_ = false;
        thread_ = std::thread([this] { run(); });
    }

    void stop() {
        {
            std::lock_guard lk(mutex_);
            stop_ = true;
        }
        wake_.notify_one();
        if (thread_.joinable()) thread_.join();
    }

    // Before each yielding reply.
    void arm() {
        last_yield_ns_.store(steady_ns());
        if (armed_.load()) return;
        {
            std::lock_guard lk(mutex_);
            armed_.store(true);
        }
        wake_.notify_one();
    }

  private:
    void run() {
        std::unique_lock lk(mutex_);
        while (!stop_) {
            wake_.wait(lk, [&] { return armed_.load() || stop_; });
            while (armed_.load() && !stop_) {
                wake_.wait_for(lk, kRescueAfter, [&] { return stop_; });
                rescue_stuck_thread();
                disarm_when_quiet();
            }
        }
    }

    // Once rescued, a thread is off the watchdog's hands (it may stay
    // blocked in its reply for long, at the normal policy).
    static void rescue_stuck_thread() {
        int64_t since = g_yielding_since_ns.load();
        if (since == 0 || std::chrono::nanoseconds(steady_ns() - since) < kRescueAfter) return;
        const pid_t tid = g_yielding_tid.load();
        if (sched_getscheduler(tid) == SCHED_IDLE && set_policy(tid, SCHED_OTHER)) {
            g_rescues.fetch_add(1, std::memory_order_relaxed);
        }
        // Unless the thread has started another yield meanwhile.
        g_yielding_since_ns.compare_exchange_strong(since, 0);
    }

    // arm() stores the time, then reads armed_; this stores armed_, then
    // reads the time. With both sequentially consistent, a reply cannot
    // find the watchdog armed while it is being disarmed for good.
    void disarm_when_quiet() {
        const auto quiet = std::chrono::nanoseconds(steady_ns() - last_yield_ns_.load());
        if (quiet < kWatchWhileActive || g_yielding_since_ns.load() != 0) return;
        armed_.store(false);
        const auto again = std::chrono::nanoseconds(steady_ns() - last_yield_ns_.load());
        if (again < kWatchWhileActive) armed_.store(true);
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::thread thread_;
    bool stop_ = false;
    std::atomic<bool> armed_{false};
    std::atomic<int64_t> last_yield_ns_{0};
};

Watchdog g_watchdog;

// Whether a thread of this process may return from SCHED_IDLE: that needs
// CAP_SYS_NICE or an RLIMIT_NICE that allows nice 0. Tried on a throwaway
// thread, which is the one left idle if not.
bool can_leave_idle_policy() {
    bool ok = false;
    std::thread([&] {
        ok = set_policy(0, SCHED_IDLE) && set_policy(0, SCHED_OTHER) &&
             sched_getscheduler(0) == SCHED_OTHER;
    }).join();
    return ok;
}

bool turn_off(const std::string& why) {
    g_why_off = why;
    g_on = false;
    return false;
}

// Moves the calling thread to `cpu`, leaving its allowed CPUs as they were.
bool move_to(int cpu) {
    cpu_set_t allowed, one;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || !CPU_ISSET(cpu, &allowed)) {
        return false;
    }
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0) return false;
    (void)sched_setaffinity(0, sizeof(allowed), &allowed);
    return sched_getcpu() == cpu;
}

}  // namespace

bool start(bool wanted) {
    if (!wanted) return turn_off("turned off (-a)");
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 || CPU_COUNT(&allowed) < 2) {
        return turn_off("the server may run on one CPU only");
    }
    if (sched_getscheduler(0) != SCHED_OTHER) {
        return turn_off("the server does not run with the normal scheduling policy");
    }
    if (!can_leave_idle_policy()) {
        return turn_off(
            "no right to return a thread from SCHED_IDLE (CAP_SYS_NICE or RLIMIT_NICE)");
    }
    g_watchdog.start();
    g_why_off.clear();
    g_on = true;
    return true;
}

void stop() {
    g_on = false;
    g_watchdog.stop();
}

void before_serving(pid_t requester) {
    t_yield_next_reply = false;
    if (!g_on.load(std::memory_order_relaxed)) return;
    const int cpu = t_requester.cpu_of(requester);
    if (cpu < 0) return;
    if (sched_getcpu() != cpu) {
        if (!move_to(cpu)) return;
        g_moves.fetch_add(1, std::memory_order_relaxed);
    }
    t_yield_next_reply = true;
}

ssize_t send_reply(int fd, const iovec* iov, int count) {
    if (!t_yield_next_reply) return ::writev(fd, iov, count);
    t_yield_next_reply = false;
    g_yielding_tid.store(gettid());
    g_yielding_since_ns.store(steady_ns());
    g_watchdog.arm();
    const bool idle = set_policy(0, SCHED_IDLE);
    // The kernel wakes the client inside this call, on this CPU.
    const ssize_t n = ::writev(fd, iov, count);
    const int err = errno;
    // Out of the watchdog's sight only once back to normal: the thread can
    // be preempted between any two of these steps.
    if (idle) {
        set_policy(0, SCHED_OTHER);
        g_yielding_replies.fetch_add(1, std::memory_order_relaxed);
    }
    g_yielding_since_ns.store(0);
    errno = err;
    return n;
}

Stats stats() {
    Stats s;
    s.on = g_on.load();
    if (!s.on) s.why_off = g_why_off;
    s.moves = g_moves.load();
    s.yielding_replies = g_yielding_replies.load();
    s.rescues = g_rescues.load();
    return s;
}

}  // namespace famfs::fused::colocation
