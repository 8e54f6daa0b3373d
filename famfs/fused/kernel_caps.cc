#include "kernel_caps.h"

#include <linux/fuse.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "colocation.h"
#include "request_reader.h"

namespace famfs::fused {

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

ssize_t caps_read(int fd, void* buf, size_t len, void* userdata) {
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
ssize_t caps_writev(int fd, struct iovec* iov, int count, void* userdata) {
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

int install_kernel_caps(fuse_session* se, bool allow_mmap, void (*after_init)()) {
    g_allow_mmap = allow_mmap;
    g_after_init = after_init;
    g_session = se;
    static const fuse_custom_io io = {caps_writev, caps_read, nullptr, nullptr};
    return -fuse_session_custom_io(se, &io, fuse_session_fd(se));  // libfuse's is negative
}

bool direct_io_mmap_enabled() {
    return g_enabled.load();
}

}  // namespace famfs::fused
