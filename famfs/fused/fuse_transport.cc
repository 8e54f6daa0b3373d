#include "fuse_transport.h"

#include <linux/fuse.h>
#include <poll.h>
#include <pthread.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

#include "colocation.h"

namespace famfs::fused {

namespace {

// Measured on the project's 2-core VM (bench_fuse): a round trip costs
// little CPU, but waking a thread whose CPU has gone idle takes ~30 us,
// more than the work. libfuse's multi-threaded loop parks every thread in
// read(2) on /dev/fuse and the kernel wakes the longest-waiting one, so an
// open+close (OPEN, then the asynchronous RELEASE) usually woke two threads.
std::mutex g_role;  // held by the reader

// Whether this thread holds g_role. A thread can end holding it: at exit
// libfuse lets a worker that has just read a request return without serving
// it. The destructor, which runs however the thread ends, then gives the role
// to the next thread waiting for it; without it that thread, and libfuse's
// join with it, would wait forever.
struct ReaderRole {
    bool held = false;
    void take() {
        g_role.lock();
        held = true;
    }
    void give_up() {
        held = false;
        g_role.unlock();
    }
    ~ReaderRole() {
        if (held) g_role.unlock();
    }
};
thread_local ReaderRole t_role;

// After serving a request the reader polls /dev/fuse for this long before it
// blocks: a client doing back-to-back requests sends the next one within a
// few microseconds, and a polling reader takes it without a wake-up. The
// spin is bounded and restarts only after a request, so an idle server
// stops using CPU this long after its last request.
constexpr auto kSpin = std::chrono::microseconds(50);

// How often a reader waiting for a request checks whether the session has
// ended (the only wake-ups of an idle server's reader, and the most a
// signal's exit waits for it).
constexpr int kEndCheckMs = 10;

// A request is waiting, or the descriptor has failed: either way read(2)
// will not block.
bool request_waiting(int fd, int timeout_ms = 0) {
    pollfd p{fd, POLLIN, 0};
    const int n = poll(&p, 1, timeout_ms);
    return n > 0 || (n < 0 && errno != EINTR);
}

bool spin_until_readable(int fd) {
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (std::chrono::steady_clock::now() < until) {
        if (request_waiting(fd)) return true;
    }
    return false;
}

// False once the session has ended.
bool wait_until_readable(int fd, bool (*ended)()) {
    while (!ended()) {
        if (request_waiting(fd, kEndCheckMs)) return true;
    }
    return false;
}

// Quick requests: served from memory, without copies of much file data,
// in a few microseconds. The reader serves them itself, keeping the role.
// A lookup is one of them although a miss catches up with the log first:
// that takes the tree's write lock, but no lock held across a wait for the
// kernel, and a follower keeps the backlog to a few entries. Handing every
// lookup to another thread cost two wake-ups, half of a `stat` with `-t 0`
// (bench_fuse: 350 us before, 150 us after).
constexpr uint32_t kQuickReadMax = 64 * 1024;
// Data requests (a read or write of up to 1 MiB, one copy between the
// request and device memory) take ~100 us. The reader serves one itself
// when no other request is waiting: a client streaming data then gets each
// next request taken at once by a polling reader, instead of waking a
// thread per request (~25 % of 1 MiB read throughput on the 2-core VM).
// When requests are queued, it passes the role on first, so several
// clients' data requests still run in parallel.
constexpr uint32_t kDataMax = 1024 * 1024;

enum class Kind { kQuick, kData, kOther };

template <class T>
T argument(const void* buf) {
    T arg;
    std::memcpy(&arg, static_cast<const char*>(buf) + sizeof(fuse_in_header), sizeof(arg));
    return arg;
}

Kind classify(const void* buf, ssize_t n) {
    if (n < static_cast<ssize_t>(sizeof(fuse_in_header))) return Kind::kOther;
    fuse_in_header in;
    std::memcpy(&in, buf, sizeof(in));
    switch (in.opcode) {
        case FUSE_LOOKUP:
        case FUSE_OPEN:
        case FUSE_RELEASE:
        case FUSE_FLUSH:
        case FUSE_GETATTR:
        case FUSE_FORGET:
        case FUSE_BATCH_FORGET:
        case FUSE_INTERRUPT:
            return Kind::kQuick;
        case FUSE_READ: {
            if (n < static_cast<ssize_t>(sizeof(in) + sizeof(fuse_read_in))) return Kind::kOther;
            const uint32_t size = argument<fuse_read_in>(buf).size;
            return size <= kQuickReadMax ? Kind::kQuick
                   : size <= kDataMax    ? Kind::kData
                                         : Kind::kOther;
        }
        case FUSE_WRITE:
            if (n < static_cast<ssize_t>(sizeof(in) + sizeof(fuse_write_in))) return Kind::kOther;
            return argument<fuse_write_in>(buf).size <= kDataMax ? Kind::kData : Kind::kOther;
        default:
            return Kind::kOther;
    }
}

// Whether the reader serves this request itself and keeps the role.
bool keeps_role(int fd, Kind kind) {
    switch (kind) {
        case Kind::kQuick:
            return true;
        case Kind::kData:
            return !request_waiting(fd);
        case Kind::kOther:
            return false;
    }
    return false;
}

}  // namespace

ssize_t read_request(int fd, void* buf, size_t len, bool (*ended)()) {
    // libfuse cancels its workers at exit, at the cancellation points of
    // their reads. Nothing is cancelled in here: the forced unwinding through
    // these frames ended in SIGABRT (a SIGTERM left a dead mount), and under
    // GCC 12's ASan it leaves their stack poison behind, which fails the
    // sanitizer's own checks when the thread ends (asan_thread.cpp:371, or a
    // false stack-buffer-overflow in its sigaltstack call). Instead the
    // reader looks at the session and returns once it has ended.
    int cancel_state;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
    // Only a reader that has just served a request itself spins: a thread
    // taking the role over from one busy with a long request would take CPU
    // from it (and from other data requests) for nothing.
    const bool kept = t_role.held;
    if (!kept) t_role.take();
    const bool ready = (kept && spin_until_readable(fd)) || wait_until_readable(fd, ended);
    ssize_t n = -1;
    if (ready) {
        n = read(fd, buf, len);
    } else {
        errno = EINTR;
    }
    const int read_errno = errno;
    // Errors (the session ending, a signal) give the role up too.
    const Kind kind = n > 0 ? classify(buf, n) : Kind::kOther;
    if (!keeps_role(fd, kind)) {
        t_role.give_up();
    } else if (kind == Kind::kData && direct_io_mmap_enabled()) {
        // Only direct I/O: a client waits in read()/write() for each request,
        // while the page cache reads ahead and writes back without waiting.
        fuse_in_header in;
        std::memcpy(&in, buf, sizeof(in));
        colocation::before_serving(static_cast<pid_t>(in.pid));
    }
    pthread_setcancelstate(cancel_state, nullptr);
    errno = read_errno;
    return n;
}

// The INIT exchange, and the hooks libfuse calls for every read and reply.
namespace {

constexpr uint64_t kDirectIoAllowMmap = uint64_t(1) << 36;  // FUSE_DIRECT_IO_ALLOW_MMAP
constexpr uint32_t kInitExt = uint32_t(1) << 30;            // FUSE_INIT_EXT

// One session per process: the INIT exchange happens once.
std::atomic<uint64_t> g_init_unique{0};
std::atomic<bool> g_kernel_offers{false};
std::atomic<bool> g_enabled{false};
bool g_allow_mmap = false;          // set before the session runs
void (*g_after_init)() = nullptr;   // likewise
fuse_session* g_session = nullptr;  // likewise

bool session_ended() {
    return fuse_session_exited(g_session) != 0;
}

ssize_t transport_read(int fd, void* buf, size_t len, void* userdata) {
    (void)userdata;
    const ssize_t n = read_request(fd, buf, len, session_ended);
    if (n < static_cast<ssize_t>(sizeof(fuse_in_header) + sizeof(fuse_init_in))) return n;
    fuse_in_header in;
    std::memcpy(&in, buf, sizeof(in));
    if (in.opcode != FUSE_INIT) return n;
    fuse_init_in init;
    std::memcpy(&init, static_cast<const char*>(buf) + sizeof(in), sizeof(init));
    const uint64_t flags = init.flags | ((init.flags & kInitExt) ? uint64_t(init.flags2) << 32 : 0);
    g_kernel_offers = (flags & kDirectIoAllowMmap) != 0;
    g_init_unique = in.unique;
    return n;
}

// libfuse sends the INIT reply as header + fuse_init_out in separate iovecs.
ssize_t transport_writev(int fd, struct iovec* iov, int count, void* userdata) {
    (void)userdata;
    bool init_reply = false;
    if (count >= 2 && iov[0].iov_len == sizeof(fuse_out_header) &&
        iov[1].iov_len >= sizeof(fuse_init_out) && g_init_unique.load() != 0) {
        fuse_out_header out;
        std::memcpy(&out, iov[0].iov_base, sizeof(out));
        init_reply = out.unique == g_init_unique.load() && out.error == 0;
        if (init_reply && g_allow_mmap && g_kernel_offers.load()) {
            fuse_init_out init;
            std::memcpy(&init, iov[1].iov_base, sizeof(init));
            init.flags |= kInitExt;
            init.flags2 |= static_cast<uint32_t>(kDirectIoAllowMmap >> 32);
            std::memcpy(iov[1].iov_base, &init, sizeof(init));
            g_enabled = true;
        }
    }
    // The kernel processes the INIT reply inside this writev.
    const ssize_t n = colocation::send_reply(fd, iov, count);
    if (init_reply && n >= 0 && g_after_init) g_after_init();
    return n;
}

}  // namespace

int install_fuse_transport(fuse_session* se, bool allow_mmap, void (*after_init)()) {
    g_allow_mmap = allow_mmap;
    g_after_init = after_init;
    g_session = se;
    static const fuse_custom_io io = {transport_writev, transport_read, nullptr, nullptr};
    return -fuse_session_custom_io(se, &io, fuse_session_fd(se));  // libfuse's is negative
}

bool direct_io_mmap_enabled() {
    return g_enabled.load();
}

}  // namespace famfs::fused
