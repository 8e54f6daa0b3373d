#include "unix_socket.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>

#include "signals.h"

namespace lab {

UnixSocket::~UnixSocket() {
    if (fd_ >= 0) ::close(fd_);
}

UnixSocket::UnixSocket(UnixSocket&& other) noexcept
    : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
    other.fd_ = -1;
}

UnixSocket& UnixSocket::operator=(UnixSocket&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.fd_;
        buffer_ = std::move(other.buffer_);
        other.fd_ = -1;
    }
    return *this;
}

Result<UnixSocket> UnixSocket::connect(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string target = path;
    int dirfd = -1;
    if (path.size() >= sizeof(addr.sun_path)) {
        auto slash = path.find_last_of('/');
        dirfd = ::open(path.substr(0, slash).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
            return fail("cannot open directory of " + path + ": " + std::strerror(errno));
        target = "/proc/self/fd/" + std::to_string(dirfd) + path.substr(slash);
    }
    std::memcpy(addr.sun_path, target.c_str(), target.size() + 1);
    UnixSocket s;
    s.fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = s.fd_ < 0 ? -1 : ::connect(s.fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int err = errno;
    if (dirfd >= 0) ::close(dirfd);
    if (rc != 0) return fail("cannot connect to " + path + ": " + std::strerror(err));
    ::fcntl(s.fd_, F_SETFL, O_NONBLOCK);
    return s;
}

Status UnixSocket::send_all(const std::string& data, Deadline deadline) {
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return fail(std::string("send: ") + std::strerror(errno));
        if (interrupted()) return fail("interrupted");
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, ms_left(deadline)) == 0) return fail("timed out sending");
    }
    return ok();
}

Status UnixSocket::fill(Deadline deadline) {
    while (true) {
        if (interrupted()) return fail("interrupted");
        pollfd p{fd_, POLLIN, 0};
        int left = ms_left(deadline);
        // Wake up at least every 200 ms so an interrupt is noticed.
        int rc = ::poll(&p, 1, left < 200 ? left : 200);
        if (rc < 0 && errno != EINTR) return fail(std::string("poll: ") + std::strerror(errno));
        if (rc > 0) {
            char buf[65536];
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n > 0) {
                buffer_.append(buf, static_cast<size_t>(n));
                return ok();
            }
            if (n == 0) return fail("connection closed by QEMU");
            if (errno != EAGAIN && errno != EINTR)
                return fail(std::string("recv: ") + std::strerror(errno));
        }
        if (left == 0) return fail("timed out waiting for a reply");
    }
}

Result<std::string> UnixSocket::read_line(Deadline deadline) {
    while (true) {
        auto nl = buffer_.find('\n');
        if (nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        if (auto st = fill(deadline); !st) return st.error();
    }
}

Result<std::string> UnixSocket::read_some(Deadline deadline) {
    if (buffer_.empty()) {
        if (auto st = fill(deadline); !st) return st.error();
    }
    std::string out;
    out.swap(buffer_);
    return out;
}

Status UnixSocket::skip_past(char marker, Deadline deadline) {
    while (true) {
        auto pos = buffer_.find(marker);
        if (pos != std::string::npos) {
            buffer_.erase(0, pos + 1);
            return ok();
        }
        buffer_.clear();
        if (auto st = fill(deadline); !st) return st;
    }
}

}  // namespace lab
