// A famfs file system on one device: the validated superblock, the log, and
// the operations that change metadata. Every metadata change takes the
// host-local append lock, catches up with the log (another process may have
// appended), validates, allocates and appends exactly one entry; on any
// failure nothing is appended, so the device is as it was.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "famfs/allocator.h"
#include "famfs/device.h"
#include "famfs/log.h"
#include "famfs/namespace.h"
#include "famfs/omf.h"
#include "famfs/system_uuid.h"

namespace famfs {

struct MkfsOptions {
    uint64_t log_len = omf::kMinLogLen;
    bool force = false;        // overwrite an existing superblock
    bool kill = false;         // with force: only zero the magic
    bool allow_small = false;  // accept devices under 4 GiB (tests, labs)
    uint64_t create_size = 0;  // create/resize a regular file of this size first
};

Status mkfs(const std::string& device_path, const MkfsOptions& opt);

struct CreateSpec {
    std::string relpath;
    uint64_t size = 0;
    uint32_t mode = 0644;
    uint32_t uid = 0, gid = 0;
    InterleaveParams interleave;
    // omf::kFileFlagsAllRO logs a file no host may write (its creator fills
    // it before or right after logging it, through its own mapping).
    uint32_t flags = omf::kFileFlagsAllRW;
};

// The namespace and allocation state as of some log index.
struct State {
    explicit State(const omf::Superblock& sb) : layout(sb), ns(sb), alloc(sb) {}
    omf::Superblock layout;  // the bounds extents are checked against
    Namespace ns;
    Allocator alloc;
    uint64_t next_index = 0;  // the log header's next_index at the last replay
    // Where replay stopped early, and why (an invalid entry).
    std::optional<uint64_t> invalid_index;
    std::optional<Error> invalid_reason;
    bool log_is_clean() const { return !invalid_index.has_value(); }
};

// Applies a replay to a state: every valid entry to the namespace, and the
// extents of every FILE entry whose map is in bounds to the allocator (even
// when its path is refused: that space may hold data).
void apply_replay(State& st, Replay r);
// Replays the entries after those `st` holds straight into it.
Status replay_new_entries(const LogView& log, State& st);

class Volume {
  public:
    // Opens the device and validates the superblock and the log header.
    static Result<std::unique_ptr<Volume>> open(const std::string& device_path, Access access);
    // Wraps an already opened device (tests use a fault-injecting one).
    static Result<std::unique_ptr<Volume>> open(std::shared_ptr<Device> device);
    ~Volume();

    Device& device() { return *device_; }
    std::shared_ptr<Device> shared_device() const { return device_; }
    // The superblock as stored on the device.
    const omf::Superblock& superblock() const { return sb_; }
    // The superblock with dev_size clamped to what is really mapped: the
    // bounds every extent is checked against.
    const omf::Superblock& layout() const { return layout_; }
    LogView& log() { return log_; }
    Role role() const { return role_; }

    // Replays the whole log into a fresh namespace and allocator.
    Result<State> load() const;

    // Master-only metadata operations. Each takes the host-local append
    // lock, catches up with entries other processes appended, and appends at
    // most the entries it needs; on failure it appends nothing. They are
    // safe to call from several threads. create_file on an existing file of
    // the same size returns it unchanged (created == false); another size
    // fails with EEXIST.
    struct Created {
        omf::FileEntry file;
        bool created = false;
    };
    Result<Created> create_file(const CreateSpec& spec);
    // parents: create missing parents and accept an existing directory.
    Status mkdir(const std::string& relpath, uint32_t mode, uint32_t uid, uint32_t gid,
                 bool parents);
    // Deletes (docs/delete.md): logs one DELETE per object, children before
    // their directory, after marking the superblock (version 49) if this is
    // the first delete. kFile refuses a directory, kEmptyDirectory anything
    // but an empty directory, kRecursive takes a file or a whole tree. A
    // file's space is pending reclaim until every host is past its DELETE.
    // EROFS on a client; on any failure nothing is logged.
    enum class RemoveMode { kFile, kEmptyDirectory, kRecursive };
    Status remove(const std::string& relpath, RemoveMode mode);

    // Test-only: logs dst with src's extents (a deliberate cross-link).
    Status clone(const std::string& src, const std::string& dst);

    // EPERM unless this host is the master.
    Status require_master() const;

    // Writes files' data before logging them, so that no host ever sees a
    // file whose contents are incomplete: reserve() allocates without
    // logging, the caller writes the data, commit() logs the file (files
    // appear one by one, each complete). The append lock is held for the
    // life of the transaction, so no other writer on this host can take the
    // reserved space; space reserved and never committed (the writer failed
    // or died) is simply free, as the log never claimed it. Directories
    // hold no data and are logged at once. reserve and commit may be called
    // from several threads.
    class Transaction;
    Result<std::unique_ptr<Transaction>> begin_transaction();

  private:
    Volume(std::shared_ptr<Device> device, const omf::Superblock& sb, Role role);
    class PathScope;
    struct WriterState;
    class WriteSession;
    // Takes the append lock and catches the writers' state up; `names`: the
    // paths the write will look up.
    Result<WriteSession> begin_write(const PathScope& names);
    Status refresh_writer_state(WriterState& w) const;
    Status reclaim_pending(Allocator& alloc) const;
    // Rewrites the superblock as version 49 unless it already is (flushed).
    Status mark_for_deletes();
    Result<std::vector<omf::DeleteEntry>> deletes_for(const PathIndex& paths,
                                                      const std::string& relpath,
                                                      RemoveMode mode) const;
    // The map of the file logged at `index`, read back from the log.
    Result<omf::FileEntry> logged_file(uint64_t index) const;
    Result<Created> allocate(WriterState& st, const CreateSpec& spec, uint64_t free_entries);
    // `free_entries`: log entries the new directories may use.
    Status mkdir_in(WriteSession& w, const std::string& relpath, uint32_t mode, uint32_t uid,
                    uint32_t gid, bool parents, uint64_t free_entries);

    std::shared_ptr<Device> device_;
    // Held shared while the Volume is open: mkfs refuses the device meanwhile.
    std::optional<DeviceLock> use_lock_;
    omf::Superblock sb_;
    omf::Superblock layout_;
    LogView log_;
    Role role_;
    std::mutex mu_;                       // guards cache_ (threads of this process)
    std::unique_ptr<WriterState> cache_;  // the writers' state, caught up under the lock
    bool cache_stale_ = false;            // holds allocations the log never got: reload
};

class Volume::Transaction {
  public:
    ~Transaction();
    // Like create_file, without logging: an existing file of the same size
    // is returned as it is (created == false) and needs no commit.
    Result<Created> reserve(const CreateSpec& spec);
    // Logs a file reserve() created, once its data is written.
    Status commit(const omf::FileEntry& file);
    // mkdir -p, logged at once.
    Status mkdir(const std::string& relpath, uint32_t mode, uint32_t uid, uint32_t gid);

  private:
    friend class Volume;
    Transaction(std::unique_ptr<WriteSession> session, Volume& v);
    std::unique_ptr<WriteSession> session_;
    Volume& v_;
    std::mutex mu_;          // the transaction's threads
    uint64_t reserved_ = 0;  // reserved, not yet committed: log entries promised
};

}  // namespace famfs
