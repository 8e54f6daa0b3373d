// The reader role must never outlive its thread: libfuse ends its workers at
// exit by cancelling them in read(2), or by letting one that has just read a
// request return without serving it, and then joins them all. A role left
// behind would keep every other worker waiting for it, and the join forever.
#include "request_reader.h"

#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace famfs::fused {
namespace {

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

struct Reader {
    const FakeDevice* device;
    ssize_t got = 0;
    pthread_t thread{};

    explicit Reader(const FakeDevice& d) : device(&d) {
        EXPECT_EQ(pthread_create(&thread, nullptr, &Reader::run, this), 0);
    }
    static void* run(void* self) {
        auto* r = static_cast<Reader*>(self);
        char buf[4096];
        r->got = read_request(r->device->server, buf, sizeof(buf));
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

TEST(RequestReader, AThreadThatEndsWithTheRoleGivesItUp) {
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

// libfuse's exit: one worker holds the role inside read(2), the others wait
// for it; all are cancelled, then joined.
TEST(RequestReader, CancelledWorkersAllEndWhileOneWaitsInRead) {
    FakeDevice device;
    Reader holder(device);
    usleep(100 * 1000);  // holder takes the role and blocks in read(2)
    Reader waiter(device);
    usleep(100 * 1000);  // waiter blocks on the role
    pthread_cancel(holder.thread);
    pthread_cancel(waiter.thread);
    EXPECT_TRUE(holder.ends());
    EXPECT_TRUE(waiter.ends()) << "the waiting worker never got the role to be cancelled";
}

}  // namespace
}  // namespace famfs::fused
