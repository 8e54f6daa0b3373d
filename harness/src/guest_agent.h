// qemu-guest-agent client: runs shell commands in a guest with separate
// stdout/stderr and the exit status (guest-exec + guest-exec-status).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "json.h"
#include "unix_socket.h"

namespace lab {

struct ExecResult {
    int exit_code = 0;  // 128+N when killed by signal N, 124 on timeout
    bool timed_out = false;
    std::string out;
    std::string err;
    double seconds = 0;
};

class GuestAgent {
  public:
    // Resynchronises the stream (guest-sync-delimited), so bytes left over by
    // an earlier client that gave up cannot be mistaken for our replies.
    static Result<GuestAgent> connect(const std::string& socket_path, Deadline deadline);

    Result<Json> call(const std::string& command, const Json& arguments, Deadline deadline);

    // Runs `/bin/sh -c command` with `input` on stdin. A guest command that
    // outlives `timeout_s` is killed and reported with timed_out set.
    Result<ExecResult> exec(const std::string& command, const std::string& input, double timeout_s);

  private:
    explicit GuestAgent(UnixSocket s) : sock_(std::move(s)) {}
    Status sync(Deadline deadline);
    Status sync_once(const std::string& prefix, Deadline deadline);
    Result<Json> read_reply(Deadline deadline);
    Result<int64_t> start(const std::string& command, const std::string& input, Deadline deadline);
    void kill_guest_process(int64_t pid);

    UnixSocket sock_;
};

}  // namespace lab
