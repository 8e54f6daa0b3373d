// QEMU Machine Protocol client: one connection, synchronous commands.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "json.h"
#include "unix_socket.h"

namespace lab {

class Qmp {
  public:
    // Reads the greeting and leaves capability negotiation mode.
    static Result<Qmp> connect(const std::string& socket_path, Deadline deadline);

    // Returns the command's "return" value; a QMP error becomes an Error with
    // QEMU's description. Events that arrive meanwhile are kept in events().
    Result<Json> execute(const std::string& command, const Json& arguments, Deadline deadline);

    // For commands after which QEMU closes the connection (quit).
    Status execute_final(const std::string& command, Deadline deadline);

    const std::vector<Json>& events() const { return events_; }

  private:
    explicit Qmp(UnixSocket s) : sock_(std::move(s)) {}
    Result<Json> read_reply(Deadline deadline);

    UnixSocket sock_;
    std::vector<Json> events_;
};

}  // namespace lab
