// Serving a data request on the requester's CPU: the move, the yielding
// reply, and the watchdog that returns a stuck thread to its policy.
#include "colocation.h"
#include "cpus.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

namespace famfs::fused {
namespace {

using namespace std::chrono_literals;

// Runs `fn` on a thread that may move, with the affinity it started with.
template <class Fn>
void on_new_thread(Fn fn) {
    std::thread(fn).join();
}

bool allow(const std::vector<int>& cpus) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int c : cpus) CPU_SET(c, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0;
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = 2000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

struct Pipe {
    int rd = -1, wr = -1;
    Pipe() { EXPECT_EQ(pipe2(&rd, O_CLOEXEC), 0); }
    ~Pipe() {
        close(rd);
        close(wr);
    }
};

struct Colocation : ::testing::Test {
    // Whether this machine and user allow the mechanism; it is checked, not
    // assumed, by StartsWhereItCan.
    static bool usable() {
        return geteuid() == 0 && allowed_cpus().size() >= 2 && sched_getscheduler(0) == SCHED_OTHER;
    }
    void TearDown() override { colocation::stop(); }
};

TEST_F(Colocation, StaysOffWhenTurnedOff) {
    EXPECT_FALSE(colocation::start(false));
    const auto s = colocation::stats();
    EXPECT_FALSE(s.on);
    EXPECT_NE(s.why_off.find("-a"), std::string::npos) << s.why_off;
}

TEST_F(Colocation, StartsWhereItCan) {
    const bool on = colocation::start(true);
    EXPECT_EQ(on, usable()) << colocation::stats().why_off;
    EXPECT_EQ(colocation::stats().on, on);
    EXPECT_EQ(colocation::stats().why_off.empty(), on);
}

TEST_F(Colocation, RepliesToOtherRequestsAreSentAsTheyAre) {
    colocation::start(true);
    Pipe p;
    const uint64_t before = colocation::stats().yielding_replies;
    char msg[] = "reply";
    iovec iov{msg, sizeof(msg)};
    EXPECT_EQ(colocation::send_reply(p.wr, &iov, 1), ssize_t(sizeof(msg)));
    EXPECT_EQ(colocation::stats().yielding_replies, before);
    EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);
}

TEST_F(Colocation, ADataReplyIsSentFromTheRequestersCpu) {
    if (!usable()) GTEST_SKIP() << "needs root and two CPUs";
    ASSERT_TRUE(colocation::start(true)) << colocation::stats().why_off;
    const std::vector<int> cpus = allowed_cpus();
    const int requester_cpu = cpus[0], server_cpu = cpus[1];
    // The requester sleeps on its CPU, as a client does in a request.
    std::promise<void> done;
    std::promise<pid_t> tid;
    std::thread requester([&] {
        pin_to(requester_cpu);
        tid.set_value(gettid());
        done.get_future().wait();
    });
    const pid_t requester_tid = tid.get_future().get();
    on_new_thread([&] {
        ASSERT_TRUE(pin_to(server_cpu));
        ASSERT_TRUE(allow(cpus));  // free to move, but on server_cpu now
        const auto before = colocation::stats();
        colocation::before_serving(requester_tid);
        EXPECT_EQ(colocation::stats().moves, before.moves + 1);
        EXPECT_EQ(sched_getcpu(), requester_cpu);
        Pipe p;
        char msg[] = "data";
        iovec iov{msg, sizeof(msg)};
        EXPECT_EQ(colocation::send_reply(p.wr, &iov, 1), ssize_t(sizeof(msg)));
        EXPECT_EQ(colocation::stats().yielding_replies, before.yielding_replies + 1);
        EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);  // back to normal after the reply
        // One reply per request: the next one does not yield.
        EXPECT_EQ(colocation::send_reply(p.wr, &iov, 1), ssize_t(sizeof(msg)));
        EXPECT_EQ(colocation::stats().yielding_replies, before.yielding_replies + 1);
    });
    done.set_value();
    requester.join();
}

TEST_F(Colocation, NothingMovesForAnUnknownRequester) {
    colocation::start(true);
    on_new_thread([&] {
        const auto before = colocation::stats();
        colocation::before_serving(0);  // a requester outside this pid namespace
        Pipe p;
        char msg[] = "data";
        iovec iov{msg, sizeof(msg)};
        EXPECT_EQ(colocation::send_reply(p.wr, &iov, 1), ssize_t(sizeof(msg)));
        EXPECT_EQ(colocation::stats().moves, before.moves);
        EXPECT_EQ(colocation::stats().yielding_replies, before.yielding_replies);
    });
}

TEST_F(Colocation, TheWatchdogReturnsAStuckThreadToItsPolicy) {
    if (!usable()) GTEST_SKIP() << "needs root and two CPUs";
    ASSERT_TRUE(colocation::start(true)) << colocation::stats().why_off;
    Pipe p;
    // A full pipe: the yielding reply blocks, as a starved thread would wait.
    ASSERT_EQ(fcntl(p.wr, F_SETFL, O_NONBLOCK), 0);
    std::vector<char> fill(4096, 'x');
    while (write(p.wr, fill.data(), fill.size()) > 0) {
    }
    ASSERT_EQ(fcntl(p.wr, F_SETFL, 0), 0);
    const uint64_t rescues = colocation::stats().rescues;
    std::atomic<pid_t> tid{0};
    std::atomic<bool> returned{false};
    std::thread server([&] {
        tid = gettid();
        colocation::before_serving(gettid());  // the requester is on this CPU
        iovec iov{fill.data(), fill.size()};
        EXPECT_EQ(colocation::send_reply(p.wr, &iov, 1), ssize_t(fill.size()));
        returned = true;
    });
    EXPECT_TRUE(wait_until([&] { return colocation::stats().rescues > rescues; }));
    EXPECT_FALSE(returned.load());  // still blocked, but no longer SCHED_IDLE
    EXPECT_EQ(sched_getscheduler(tid.load()), SCHED_OTHER);
    // Drained without blocking: the reply may or may not have gone in yet.
    ASSERT_EQ(fcntl(p.rd, F_SETFL, O_NONBLOCK), 0);
    std::vector<char> drain(1 << 20);
    while (!returned.load()) {
        if (read(p.rd, drain.data(), drain.size()) <= 0) std::this_thread::sleep_for(1ms);
    }
    server.join();
}

}  // namespace
}  // namespace famfs::fused
