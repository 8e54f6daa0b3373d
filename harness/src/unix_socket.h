// A client connection to a QEMU UNIX socket with deadline-bounded I/O.
#pragma once

#include <string>

#include "clock.h"
#include "result.h"

namespace lab {

class UnixSocket {
  public:
    UnixSocket() = default;
    ~UnixSocket();
    UnixSocket(UnixSocket&& other) noexcept;
    UnixSocket& operator=(UnixSocket&& other) noexcept;
    UnixSocket(const UnixSocket&) = delete;
    UnixSocket& operator=(const UnixSocket&) = delete;

    // Long paths (deep run directories) exceed sun_path; they are reached
    // through /proc/self/fd/N of the containing directory instead.
    static Result<UnixSocket> connect(const std::string& path);

    Status send_all(const std::string& data, Deadline deadline);
    // Returns one line without its newline; buffered bytes stay for the next call.
    Result<std::string> read_line(Deadline deadline);
    // Returns whatever arrives first (buffered bytes, else one read).
    Result<std::string> read_some(Deadline deadline);
    // Drops everything up to and including the first `marker` byte.
    Status skip_past(char marker, Deadline deadline);

  private:
    Status fill(Deadline deadline);

    int fd_ = -1;
    std::string buffer_;
};

}  // namespace lab
