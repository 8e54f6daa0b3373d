// How libfuse's workers end at exit: they see the session has ended, or
// return without serving a request they have just read; libfuse cancels
// them, then joins them all. A worker waiting for a request must notice the
// end by itself, and a role left behind by a worker that has gone would keep
// every other one waiting for it, and the join forever.
#include "fuse_transport.h"

#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <ctime>

namespace famfs::fused {
namespace {

std::atomic<bool> g_ended{false};
bool session_ended() {
    return g_ended.load();
}

// Stands in for /dev/fuse: one request per read(2), blocking when empty.
struct FakeDevice {
    int server = -1, kernel = -1;
    FakeDevice() {
        int fds[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
        server = fds[0];
        kernel = fds[1];
    }
    ~FakeDevice() {
        close(server);
        close(kernel);
    }
    // A getattr: a quick request, so the thread reading it keeps the role.
    void send_getattr() const {
        struct {
            fuse_in_header in;
            fuse_getattr_in arg;
        } request{};
        request.in.len = sizeof(request);
        request.in.opcode = FUSE_GETATTR;
        request.in.unique = 2;
        request.in.nodeid = FUSE_ROOT_ID;
        ASSERT_EQ(write(kernel, &request, sizeof(request)), static_cast<ssize_t>(sizeof(request)));
    }
};

// Each test starts with a session that lasts.
struct RequestReader : ::testing::Test {
    void SetUp() override { g_ended = false; }
};

struct Reader {
    const FakeDevice* device;
    ssize_t got = 0;
    int error = 0;
    char buf[4096];
    pthread_t thread{};

    explicit Reader(const FakeDevice& d) : device(&d) {
        EXPECT_EQ(pthread_create(&thread, nullptr, &Reader::run, this), 0);
    }
    static void* run(void* self) {
        auto* r = static_cast<Reader*>(self);
        r->got = read_request(r->device->server, r->buf, sizeof(r->buf), session_ended);
        r->error = errno;
        return nullptr;
    }
    // Whether the thread ended within a few seconds; a thread stuck waiting
    // for the role would never end.
    bool ends() const {
        timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 10;
        return pthread_timedjoin_np(thread, nullptr, &deadline) == 0;
    }
};

TEST_F(RequestReader, AThreadThatEndsWithTheRoleGivesItUp) {
    FakeDevice device;
    device.send_getattr();
    Reader first(device);
    ASSERT_TRUE(first.ends());
    ASSERT_GT(first.got, 0);  // it kept the role for the quick request it read

    device.send_getattr();
    Reader second(device);
    EXPECT_TRUE(second.ends()) << "the next reader never got the role";
    EXPECT_GT(second.got, 0);
}

// libfuse's exit after a signal: one worker waits for a request, the others
// wait for the role; the session ends, and all are cancelled and joined.
TEST_F(RequestReader, WorkersWaitingForRequestsEndWithTheSession) {
    FakeDevice device;
    Reader holder(device);
    usleep(100 * 1000);  // holder takes the role and waits for a request
    Reader waiter(device);
    usleep(100 * 1000);  // waiter waits for the role
    g_ended = true;
    pthread_cancel(holder.thread);
    pthread_cancel(waiter.thread);
    ASSERT_TRUE(holder.ends()) << "the worker waiting for a request never noticed the end";
    ASSERT_TRUE(waiter.ends()) << "the worker waiting for the role never got it";
    // Both returned, neither was cancelled inside read_request.
    EXPECT_EQ(holder.got, -1);
    EXPECT_EQ(holder.error, EINTR);
    EXPECT_EQ(waiter.got, -1);
    EXPECT_EQ(waiter.error, EINTR);
}

TEST_F(RequestReader, ARequestIsReadWhileTheSessionLasts) {
    FakeDevice device;
    Reader reader(device);
    usleep(50 * 1000);  // waiting for a request, past several end checks
    device.send_getattr();
    ASSERT_TRUE(reader.ends());
    EXPECT_EQ(reader.got, static_cast<ssize_t>(sizeof(fuse_in_header) + sizeof(fuse_getattr_in)));
}

}  // namespace
}  // namespace famfs::fused
