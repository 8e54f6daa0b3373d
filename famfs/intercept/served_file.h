// A famfs file the library serves: opened through the mount (so the
// kernel's permission checks and the server's refusals applied), then its
// map fetched from the server on first use (file_map_record.h) and its
// memory reached through this process's own mapping of the device node.
//
// Whatever cannot be served is passed on to the mount unchanged: a file the
// server gives no map for (.meta files, other FUSE file systems, a server
// without the attribute), a device this process may not open, a
// descriptor in O_APPEND mode. Once served, the map is checked against the
// server again when the server's epoch page moved (it found poison, or the
// device failed or was re-formatted: epoch_page.h) and at least every
// kRecheck; a device the server no longer
// serves (re-formatted: ESTALE; failed: EIO) fails every later call on the
// descriptor with the server's errno, as the mount does. A re-format is
// also caught at once: every served call first compares the superblock's
// file system UUID in the device with the map's (one cache line).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "famfs/dax.h"
#include "famfs/file_map_record.h"

namespace famfs::intercept {

struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const FileId&) const = default;
};

// The identity of what `fd` refers to, from the kernel's cached attributes
// (no request to a FUSE server); false when fd is not open.
bool identify(int fd, FileId* id, mode_t* type = nullptr);

// File systems found to have no famfs maps (they support no user.*
// attributes at all): their files are not looked at again.
bool known_not_famfs(dev_t dev);

class ServedFile {
  public:
    static constexpr std::chrono::milliseconds kRecheck{100};

    ServedFile(FileId id, int open_flags, std::string name);

    // What to do with a call on the file now.
    // kNotFamfs: a file system without famfs maps; forget the descriptor.
    enum class Verdict { kServe, kPassOn, kFail, kNotFamfs };
    struct Decision {
        Verdict verdict;
        int error = 0;  // kFail: the errno to return
    };
    Decision prepare(int fd);
    // For writes too: O_APPEND (which F_SETFL may turn on later) passes on.
    Decision prepare_write(int fd);

    // A served file whose device no longer holds its file system fails
    // (ESTALE) from now on; false then.
    bool check_device();

    const FileId& id() const { return id_; }
    const std::string& name() const { return name_; }
    bool readable() const { return readable_; }
    bool writable() const { return writable_; }
    void set_append(bool on) { append_.store(on, std::memory_order_relaxed); }

    // Served calls (after prepare() said kServe): bytes or a negative errno.
    uint64_t size() const { return mapping_.size(); }
    ssize_t read_at(void* buf, size_t n, uint64_t off) const;
    ssize_t write_at(const void* buf, size_t n, uint64_t off) const;
    int persist_all() const;  // 0 or an errno
    const dax::FileMapping& mapping() const { return mapping_; }
    int device_fd() const { return device_fd_; }
    Device& device() const { return *device_; }

  private:
    enum class State { kUnresolved, kServed, kPassOn, kFailed, kNotFamfs };
    void resolve(int fd);
    void recheck(int fd, bool wait);
    // The map, with the epoch it holds for (fetched again if the epoch
    // moved while it was being fetched).
    Result<FileMapRecord> fetch_current(int fd);
    bool device_still_holds_file_system() const;
    void pass_on(const std::string& why);
    void fail(int err);

    const FileId id_;
    const std::string name_;
    const bool readable_;
    const bool writable_;
    std::atomic<bool> append_;

    std::mutex mu_;  // serialises resolve() and recheck()
    std::atomic<State> state_{State::kUnresolved};
    std::atomic<int> error_{0};
    std::atomic<int64_t> next_check_ns_{0};
    const std::atomic<uint64_t>* epoch_ = nullptr;  // the server's epoch page, if mapped
    std::atomic<uint64_t> seen_epoch_{0};           // what the record holds for
    FileMapRecord record_;                          // written once, before state_ becomes kServed
    std::shared_ptr<Device> device_;
    int device_fd_ = -1;
    dax::FileMapping mapping_;
};

}  // namespace famfs::intercept
