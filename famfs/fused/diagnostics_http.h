// The diagnostics socket: HTTP/1.1 on a unix socket in the per-mount state
// directory (state_dir.h), answering the reference daemon's endpoints with
// this server's data, for root (and the server's own user) only:
//   GET  /icache_stats  lookups: searches, nodes scanned, failures (YAML)
//   GET  /icache_dump   writes every inode to syslog; says how many
//   GET  /log_level     the syslog level (log_level.h)
//   POST|PUT /log_level body "N" or "level=N" sets it
//   GET  /pid           the server's pid (YAML)
//   GET  /inodes        inodes known, open files (YAML)
//   GET  /status        the text of .meta/.status
// libmicrohttpd serves it on a listening socket made here (mode 0600) and
// handed to it; each connection's peer credentials are checked too.
#pragma once

#include <memory>
#include <string>

#include "famfs/result.h"

struct MHD_Daemon;

namespace famfs::fused {

class Server;

class DiagnosticsSocket {
  public:
    // Binds and listens on `path` (a stale socket there is replaced);
    // connections wait in the backlog until serve().
    static Result<std::unique_ptr<DiagnosticsSocket>> listen(const std::string& path);
    // Starts answering on libmicrohttpd's thread: after the daemon's fork.
    Status serve(Server& s);
    // Stops answering and removes the socket.
    ~DiagnosticsSocket();

  private:
    DiagnosticsSocket(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
    std::string path_;
    int fd_ = -1;  // owned by daemon_ once serving
    MHD_Daemon* daemon_ = nullptr;
};

}  // namespace famfs::fused
