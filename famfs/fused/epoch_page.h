// The server's epoch page: a 4 KiB file in /dev/shm that any process may
// map read-only, holding a counter the server moves whenever its answer for
// files already open may have changed (poison found, the device failed or
// no longer holds the file system). The interception library, which reads
// and writes file memory without asking the server, loads it on every call
// and asks for the file's map again when it moved (docs/format.md, "The
// map attribute"), so it fails a call exactly when the mount would.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "famfs/result.h"

namespace famfs::fused {

class EpochPage {
  public:
    // /dev/shm/famfs-epoch-PID-XXXXXX; first removes the pages of servers
    // that are gone (a killed server cannot remove its own).
    static Result<EpochPage> create();
    EpochPage(EpochPage&& o) noexcept;
    EpochPage& operator=(EpochPage&&) = delete;
    ~EpochPage();

    // Async-signal-safe: the memory guard calls it from its SIGBUS handler.
    void bump() { counter_->fetch_add(1, std::memory_order_release); }
    const std::string& path() const { return path_; }

  private:
    EpochPage(std::string path, std::atomic<uint64_t>* counter)
        : path_(std::move(path)), counter_(counter) {}
    std::string path_;
    std::atomic<uint64_t>* counter_ = nullptr;
};

}  // namespace famfs::fused
