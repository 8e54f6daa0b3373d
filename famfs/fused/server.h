// The state of one famfs_fused process: the volume it serves, the tree built
// from the log, and the thread that follows the log as the master appends.
//
// Lock order (never take a lock listed earlier while holding a later one):
//   1. catch_up_mutex_  serialises catch-ups (follower thread, lookup miss,
//                       .meta/.control); the log is read under it alone.
//   2. tree_mutex_      shared by every FUSE operation that reads the tree;
//                       exclusive only while new entries are applied.
//   3. report_mutex_    guards the error texts.
//   4. leaves: the handle tables' mutexes (handles.h), PoisonedRanges'
//      mutex (poisoned_ranges.h), the poison watcher's own (poison_watch.h),
//      AttrOverrides' (attr_overrides.h) and Membership's (membership.h).
// The poison watcher's thread takes no lock of the server's but those leaves
// and report_mutex_ (add_poison marks the device failed when the log is
// poisoned), never while holding a leaf.
// FUSE operations hold at most tree_mutex_ (shared); a lookup miss drops it
// before catching up. Nodes are never freed (a DELETE takes a node out of the
// tree and keeps it), so a Node* obtained under the lock stays valid after it
// is released; only directories' child lists and deleted_at change.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "attr_overrides.h"
#include "datapath.h"
#include "dir_handle.h"
#include "epoch_page.h"
#include "famfs/device.h"
#include "famfs/volume.h"
#include "handles.h"
#include "membership.h"
#include "poison_watch.h"
#include "poisoned_ranges.h"
#include "stale_device.h"

namespace famfs::fused {

struct ServerOptions {
    std::string device;
    std::string mountpoint;
    // The per-mount state directory (diagnostics_http.h): it holds `sock`
    // and is what the root's user.famfs.shadow names. Empty: the server
    // makes a fresh one under /tmp and removes it at unmount.
    std::string state_dir;
    // The first column of /proc/mounts (default: the device).
    std::string fsname;
    double timeout_secs = 1.0;  // attribute and entry cache timeout
    bool foreground = false;
    bool debug = false;  // foreground, single-threaded, libfuse debug output
    bool single_thread = false;
    bool verbose = false;
    bool allow_other = true;
    // The kernel checks permissions against the mode bits
    // (default_permissions); -p: the server checks them itself
    // (permissions.h), with entry and attribute timeouts of 0 so that every
    // path walk reaches it. One of the two always holds.
    bool default_permissions = true;
    std::chrono::microseconds follow_poll{1000};
    bool follow = true;  // -n: no follower thread (lookups still catch up)
    // Open files with FOPEN_DIRECT_IO when the kernel lets such files be
    // mmap()ed (see README-datapath.md); -c turns it off (page cache only).
    bool direct_io = true;
    // The host table (membership.h): heartbeats, grants, the lease.
    MembershipOptions membership;
    // -b: read replies are copied through a buffer by the server even on a
    // regular file standing in for memory (devdax and PCI BARs always are).
    bool bounce_reads = false;
    // A data request the reading thread serves itself is served on the
    // requester's CPU (colocation.h); -a turns it off.
    bool serve_on_requester_cpu = true;
    // The CXL poison-list watch (poison_watch.h): --poison-poll-ms and the
    // sysfs and tracefs it reads.
    poison::WatchOptions poison_watch;
};

// What a catch-up did.
struct CatchUp {
    uint64_t before = 0;   // next index to apply before
    uint64_t after = 0;    // and after
    uint64_t refused = 0;  // entries the namespace refused (bad content)
};

class Server {
  public:
    // Opens opt.device, mapped read-write.
    static Result<std::unique_ptr<Server>> open(const ServerOptions& opt);
    // Serves an already opened device (opt.device is not opened): tests
    // drive the server in-process on a fault-injecting or non-coherent
    // device (tests/support). An in-memory device has no file to take the
    // mount lock on, and is served without it.
    static Result<std::unique_ptr<Server>> open(const ServerOptions& opt,
                                                std::shared_ptr<Device> device);
    ~Server();

    const ServerOptions& options() const { return opt_; }
    Volume& volume() { return *volume_; }
    const Volume& volume() const { return *volume_; }
    Device& device() { return volume_->device(); }
    const Device& device() const { return volume_->device(); }
    Role role() const { return volume_->role(); }
    std::chrono::system_clock::time_point started() const { return started_; }

    // Readers of the tree hold this shared; see the lock order above.
    std::shared_lock<std::shared_mutex> read_tree() const { return std::shared_lock(tree_mutex_); }
    // Valid only under read_tree().
    const Namespace& tree() const { return state_->ns; }
    const Allocator& allocator() const { return state_->alloc; }
    // Subdirectories of a directory (for its link count), kept as entries
    // are applied so getattr of a huge directory stays O(1).
    uint64_t subdirs(const Node& dir) const;

    // Applies whatever the log holds beyond what has been applied.
    CatchUp apply_new_entries();

    void start_following();
    void stop_following();
    // Once the mount is gone: mkfs and fsck of the device may go ahead
    // without waiting for this process to tear down and exit.
    void release_mount_lock() { mount_lock_.reset(); }

    // The epoch page the interception library watches (epoch_page.h);
    // empty when the server has none.
    std::string epoch_path() const { return epoch_ ? epoch_->path() : std::string(); }

    // Marks the device failed (memory failure): every later open, read and
    // write returns EIO.
    void mark_failed(const std::string& why);
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    // From the SIGBUS handler: async-signal-safe (atomics only).
    void note_memory_failure(const void* addr);

    // Poison found in device memory (poison_watch.h): every file with bytes
    // in it fails with EIO from now on (datapath.h checks before any load);
    // poison in the log fails the device and stops reading the log.
    void add_poison(const DeviceRange& r);
    const PoisonedRanges& poison() const { return poison_; }
    // The watcher starts after the daemon has forked (its trace instance is
    // named after the pid) and is stopped, its instance removed, at the end.
    void start_poison_watch();
    void stop_poison_watch();

    // Stale device detection (stale_device.h): whether the device still
    // holds the file system this server mounted. device_changed() re-reads
    // the superblock and the log header (five cache lines, invalidated
    // first except on host-local memory) and compares them with what was
    // mounted; once a change is found the answer is "changed" for good, the
    // follower stops applying entries and drops the kernel's cached pages
    // and mappings of every file. `during` names who looked, for the status.
    bool device_changed(const char* during);
    // One load: whether a change has been found (lookup, getattr, readdir:
    // operations that serve no device bytes).
    bool stale() const { return stale_.load(std::memory_order_acquire); }
    // Whether metadata operations answer ESTALE: stale and not failed. A
    // failed device's bytes prove nothing about a re-format (a CXL device
    // going away reads as all ones, then as zeros once its decoder resets),
    // so failure wins: the tree is still served from memory and every
    // open, read and write answers EIO.
    bool answers_stale() const { return stale() && !failed(); }
    // The errno for an operation about to touch file memory: EIO on a
    // failed device, ESTALE on a changed one, else 0.
    int device_errno(const char* during);
    // How the follower tells the kernel to forget what it caches of the old
    // tree (session.cc: fuse_lowlevel_notify_inval_inode and _entry); set
    // before start_following(). Each returns 0 or a positive errno.
    struct KernelCache {
        // Drops an inode's attributes, cached pages and their mappings.
        std::function<int(uint64_t ino)> inode;
        // Drops a name, so the next lookup of it reaches the server.
        std::function<int(uint64_t parent, const std::string& name)> entry;
    };
    void set_kernel_cache(KernelCache k) { kernel_cache_ = std::move(k); }

    // chmod, chown and utimes made through this mount (in memory only).
    AttrOverrides& attr_overrides() { return attr_overrides_; }
    const AttrOverrides& attr_overrides() const { return attr_overrides_; }

    // Name lookups, for the diagnostics socket's icache_stats.
    struct LookupStats {
        std::atomic<uint64_t> searches{0};       // LOOKUP requests
        std::atomic<uint64_t> nodes_scanned{0};  // directories searched (with retries)
        std::atomic<uint64_t> failures{0};       // answered with an error
    };
    LookupStats& lookup_stats() { return lookup_stats_; }
    const LookupStats& lookup_stats() const { return lookup_stats_; }
    size_t open_file_count() const { return files_.size(); }

    HandleTable<FileHandle>& files() { return files_; }
    // Drops an open file's handle; releasing a deleted file's last handle
    // may move this host's watermark, so it is published soon.
    void release_file(uint64_t fh);

    // The delete protocol (docs/delete.md, membership.h). This host's
    // watermark: every entry below it is applied, and no handle of this
    // server is on a file deleted below it.
    uint64_t watermark() const;
    struct HeldDeleted {
        uint64_t handles = 0;        // open handles of deleted files
        uint64_t oldest_delete = 0;  // the lowest DELETE index among them
    };
    HeldDeleted held_deleted() const;  // the caller holds read_tree()
    // Starts the membership thread (after the daemon's fork) and, at a
    // clean unmount, leaves the table.
    void start_membership();
    void leave_host_table();
    // For an open of file memory: 0 once this host's slot is granted,
    // EAGAIN when the master never granted it, ESTALE once evicted.
    int registration_errno();
    // The kernel's names of files deleted since the follower last looked
    // are dropped by the follower (never by a request handler: the kernel
    // may hold the directory locked for that very request).
    void forget_deleted_names();
    HandleTable<DirHandle>& dirs() { return dirs_; }

    // The text of .meta/.status. Only root's names files (relpaths in
    // errors and poison lines): a name can be all a root-only directory
    // hides, so others get counts and indexes (permissions.h).
    std::string status_text(bool for_root = true) const;

  private:
    explicit Server(const ServerOptions& opt) : opt_(opt) {}
    static Result<std::unique_ptr<Server>> serve(const ServerOptions& opt,
                                                 Result<std::unique_ptr<Volume>> vol);
    void follow_loop();
    // The log's next_index as of the last catch-up, and whether replay
    // stopped at an invalid entry.
    uint64_t known_next_index() const;
    bool stalled() const;
    // The poison lines of .meta/.status; the caller holds read_tree().
    std::string poison_status(bool name_files) const;
    // The superblock and log header as the device holds them now; false
    // when the memory failed (the device is then marked failed).
    bool read_identity(uint8_t* superblock, uint8_t* log_header) const;
    // read_identity, and a superblock that reads as all ones marks the
    // device failed (false): that is memory gone (CXL.mem disabled, a link
    // down), which mkfs never writes, not a re-format.
    bool read_live_identity(uint8_t* superblock, uint8_t* log_header);
    // Records the first change found.
    void note_stale(Staleness st, const char* during);
    // Once stale: drops the kernel's pages and mappings of every file (once).
    void invalidate_kernel_caches();
    // How the device differs from what was mounted, read now (the first
    // finding may have been mkfs half-way); nullopt if it does not differ.
    std::optional<Staleness> change_now() const;
    // The stale-device lines of .meta/.status; `now` from change_now() or
    // the first finding. The caller holds report_mutex_.
    std::string stale_status(const Staleness* now) const;
    std::string stale_holds(const Staleness& now) const;  // in words

    ServerOptions opt_;
    std::unique_ptr<Volume> volume_;
    std::optional<DeviceLock> mount_lock_;
    std::unique_ptr<State> state_;
    void count_subdirs(uint64_t first_index, uint64_t end_index);
    std::unordered_map<uint64_t, uint64_t> subdirs_;  // directory ino -> subdirectories
    std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();

    std::mutex catch_up_mutex_;
    mutable std::shared_mutex tree_mutex_;
    mutable std::mutex report_mutex_;
    std::string header_error_;  // the log header was unreadable at the last catch-up
    std::string failure_;

    DeviceIdentity mounted_;              // what the device held at mount
    std::atomic<bool> stale_{false};      // the device holds something else now
    std::optional<Staleness> staleness_;  // what changed (report_mutex_)
    std::string stale_during_;            // who found it (report_mutex_)
    std::chrono::system_clock::time_point stale_at_;
    std::atomic<bool> kernel_invalidated_{false};
    std::atomic<int64_t> inodes_invalidated_{-1};  // -1: not yet
    std::atomic<int64_t> names_invalidated_{0};
    KernelCache kernel_cache_;

    std::atomic<bool> failed_{false};
    std::atomic<const void*> fault_addr_{nullptr};  // where device memory failed
    std::atomic<bool> stop_{false};
    std::atomic<uint64_t> catch_ups_{0};
    std::atomic<int64_t> last_poll_ns_{0};  // steady clock of the follower's last look
    std::thread follower_;
    PoisonedRanges poison_;
    std::optional<EpochPage> epoch_;  // moved when poison, failure or staleness is found
    std::atomic<bool> log_poisoned_{false};
    std::unique_ptr<poison::Watcher> poison_watch_;
    std::unique_ptr<Membership> membership_;
    // (parent ino, name) of nodes deleted since forget_deleted_names last
    // ran; report_mutex_.
    std::vector<std::pair<uint64_t, std::string>> deleted_names_;
    // Under tree_mutex_ held exclusively, after `r` was applied; directories
    // created below `counted_below` are in subdirs_.
    void note_deletes(const Replay& r, uint64_t counted_below);
    HandleTable<FileHandle> files_;
    HandleTable<DirHandle> dirs_;
    AttrOverrides attr_overrides_;
    LookupStats lookup_stats_;
};

}  // namespace famfs::fused
