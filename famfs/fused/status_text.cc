// The text of .meta/.status (and of the root's user.famfs.status): what the
// server is, how it serves, how far it has followed the log, and what has
// gone wrong. Kept apart from server.cc, whose state it only reads.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include "colocation.h"
#include "datapath.h"
#include "famfs/allocator.h"
#include "famfs/cache.h"
#include "famfs/dax.h"
#include "famfs/escape.h"
#include "famfs/meta_protocol.h"
#include "famfs/omf.h"
#include "fuse_transport.h"
#include "server.h"
#include "steady_clock.h"

namespace famfs::fused {

namespace {

// The start of a line the CLI reads (meta_protocol.h).
std::string key(const char* name) {
    return std::string(name) + meta::kKeySeparator;
}

// Whether data requests are served on the requester's CPU, and if not, why.
std::string serving_on_requester_cpu(const colocation::Stats& c) {
    if (!c.on) return "off (" + c.why_off + ")";
    // The request reader moves only for direct I/O (fuse_transport.cc).
    if (!direct_io_mmap_enabled())
        return "off (files use the page cache, whose requests nobody waits for)";
    return "on";
}

// Lines of .meta/.status about serving data on the requester's CPU.
std::string cpu_following_status() {
    const colocation::Stats c = colocation::stats();
    std::ostringstream out;
    out << "serve_on_requester_cpu: " << serving_on_requester_cpu(c) << "\n"
        << "requester_cpu_moves: " << c.moves << "\n"
        << "yielding_replies: " << c.yielding_replies << "\n"
        << "yield_rescues: " << c.rescues << "\n";
    return out.str();
}

// Who decides access on this mount (permissions.h).
std::string permission_status(const ServerOptions& o) {
    return std::string("permissions: ") +
           (o.default_permissions ? "kernel (default_permissions: mode bits, checked by the kernel)"
                                  : "server (-p: famfs_fused checks mode bits itself)") +
           "\nallow_other: " + (o.allow_other ? "yes" : "no (the mounting user only)") + "\n";
}

// Space of deleted files not reusable yet (docs/delete.md); `famfs hosts`
// says which hosts each run waits for.
std::string pending_status(const Allocator& alloc) {
    std::string out = "pending_reclaim_bytes: " + std::to_string(alloc.pending_bytes());
    if (!alloc.pending().empty()) {
        uint64_t oldest = ~uint64_t{0};
        for (const auto& [first, run] : alloc.pending())
            oldest = std::min(oldest, run.delete_index);
        out += " (" + std::to_string(alloc.pending().size()) +
               " runs; the oldest deleted at log entry " + std::to_string(oldest) +
               "; famfs hosts says what they wait for)";
    }
    return out + "\n";
}

}  // namespace

std::string Server::status_text(bool for_root) const {
    std::ostringstream out;
    const auto& sb = volume_->superblock();
    const double since_ms = double(steady_ns() - last_poll_ns_.load()) / 1e6;
    const std::optional<Staleness> changed_now = stale() ? change_now() : std::nullopt;
    {
        auto rd = read_tree();
        const auto& ns = state_->ns;
        const uint64_t next = state_->next_index;
        out << key(meta::kKeyRole) << to_string(role()) << "\n"
            << key(meta::kKeyPid) << getpid() << "\n"
            << "device: " << opt_.device << "\n"
            << "mountpoint: " << opt_.mountpoint << "\n"
            << "fs_uuid: " << omf::uuid_to_string(sb.fs_uuid) << "\n"
            << permission_status(opt_)
            << "file_names: " << (for_root ? "shown (root)" : "hidden (shown to root only)") << "\n"
            << "data_path: "
            << (direct_io_mmap_enabled() ? "direct I/O, mmap through the page cache"
                                         : "page cache (refreshed on open)")
            << "\n"
            << "read_replies: "
            << (reads_bounce(*this) ? "copied through a buffer" : "from the mapping (zero-copy)")
            << "\n"
            << cpu_following_status() << "cpu_cache: write-back " << cache::flush_method()
            << ", invalidate " << cache::invalidate_method() << "\n"
            << "log_capacity: " << volume_->log().capacity() << "\n"
            << key(meta::kKeyEntriesReplayed) << ns.applied() << "\n"
            << key(meta::kKeyLogNextIndex) << next << "\n"
            << "follow_lag_entries: " << (next > ns.applied() ? next - ns.applied() : 0) << "\n"
            << "follow_last_check_ms: " << since_ms << "\n"
            << "catch_ups: " << catch_ups_.load() << "\n"
            << "files: " << ns.files() << "\n"
            << "directories: " << ns.dirs() << "\n"
            << "capacity_bytes: " << state_->alloc.capacity() << "\n"
            << "free_bytes: " << state_->alloc.free_bytes() << "\n"
            << pending_status(state_->alloc);
        std::lock_guard lk(report_mutex_);
        const bool stopped = state_->invalid_index.has_value();
        const uint64_t errors = ns.problems().size() + (stopped ? 1 : 0) +
                                (header_error_.empty() ? 0 : 1) + (staleness_ ? 1 : 0);
        const Staleness* change =
            changed_now ? &*changed_now : (staleness_ ? &*staleness_ : nullptr);
        out << stale_status(change);
        out << key(meta::kKeyErrors) << errors << "\n";
        // Reasons quote paths too: not for others.
        for (const auto& p : ns.problems()) {
            out << "error: log entry " << p.index;
            if (for_root) {
                out << " (" << escaped(p.relpath) << ") skipped: " << escaped(p.reason) << "\n";
            } else {
                out << " skipped\n";
            }
        }
        if (stopped) {
            out << "error: log entry " << *state_->invalid_index
                << " is invalid, replay stops there"
                << (for_root
                        ? ": " + (state_->invalid_reason ? escaped(state_->invalid_reason->message)
                                                         : std::string())
                        : std::string())
                << "\n";
        }
        if (!header_error_.empty()) out << "error: log header: " << header_error_ << "\n";
        if (change && change->cause == Staleness::Cause::kEvicted) {
            out << "error: " << change->what
                << ". Lookups, opens, reads, writes and mmap faults here fail with ESTALE; "
                   "unmount and mount again\n";
        } else if (change) {
            out << "error: the device no longer holds the file system this mount serves (fs_uuid "
                << omf::uuid_to_string(mounted_.fs_uuid()) << "): " << change->what << "; it holds "
                << stale_holds(*change)
                << " now. Lookups, opens, reads, writes and mmap faults here fail with ESTALE "
                   "(EIO where the kernel turns it into that); unmount and mount again to see "
                   "the device's new file system\n";
        }
        std::string why = failure_;
        if (const void* at = fault_addr_.load()) {
            const auto base = reinterpret_cast<uintptr_t>(volume_->device().base());
            const uint64_t off = reinterpret_cast<uintptr_t>(at) - base;
            if (!why.empty()) why += "; ";
            why += "memory failure (SIGBUS) at device offset " + std::to_string(off);
        }
        out << "device_failed: " << (failed() ? "yes (" + why + ")" : std::string("no")) << "\n";
        out << poison_status(for_root);
        const HeldDeleted held = held_deleted();
        out << "deleted_files_held_open: " << held.handles;
        if (held.handles) out << " (the oldest deleted at log entry " << held.oldest_delete << ")";
        out << "\n";
    }
    if (membership_) out << membership_->status_lines();
    return out.str();
}

std::string Server::stale_holds(const Staleness& now) const {
    if (!now.new_fs_uuid) return now.now;
    if (*now.new_fs_uuid == mounted_.fs_uuid()) {
        return "the same superblock (fs_uuid " + omf::uuid_to_string(mounted_.fs_uuid()) +
               ") with another log";
    }
    return "the file system fs_uuid " + omf::uuid_to_string(*now.new_fs_uuid);
}

std::string Server::stale_status(const Staleness* now) const {
    if (!staleness_ || !now) return "device_stale: no\n";
    std::ostringstream out;
    const std::time_t at = std::chrono::system_clock::to_time_t(stale_at_);
    char when[32] = "";
    std::tm tm{};
    if (localtime_r(&at, &tm)) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    out << "device_stale: yes (found by " << stale_during_ << " at " << when << ")\n";
    // What was seen first, when the device has changed again since (a
    // re-format is caught half-way, with the superblock zeroed).
    if (staleness_->what != now->what) out << "device_change_found: " << staleness_->what << "\n";
    out << "device_change: " << now->what << "\n"
        << "device_now: " << now->now << "\n"
        << "mounted_fs_uuid: " << omf::uuid_to_string(mounted_.fs_uuid()) << "\n"
        << "new_fs_uuid: "
        << (now->new_fs_uuid ? omf::uuid_to_string(*now->new_fs_uuid) : std::string("none")) << "\n"
        << "stale_kernel_caches: ";
    if (const int64_t n = inodes_invalidated_.load(); n >= 0) {
        out << "dropped (" << n << " inodes and " << names_invalidated_.load()
            << " names the kernel knew)\n";
    } else {
        out << (opt_.follow ? "not dropped yet (the follower does it)"
                            : "kept (no follower, -n: pages mapped before stay mapped)")
            << "\n";
    }
    return out.str();
}

namespace {

// A path as a poison line shows it: from the mount's root, escaped, with
// commas (the list's separator) as \xHH too.
std::string shown_path(const std::string& relpath) {
    return "/" + escaped(relpath, ",");
}

// Files named on one poison line; the rest are counted.
constexpr size_t kNamedPerRange = 32;

}  // namespace

std::string Server::poison_status(bool name_files) const {
    std::ostringstream out;
    out << "poison_watch: "
        << (poison_watch_ ? poison_watch_->describe() : std::string("off (not started)")) << "\n";
    if (poison_watch_ && poison_watch_->on()) {
        const auto c = poison_watch_->counts();
        out << "poison_list_records: " << c.records << " (" << c.unmapped << " unmapped, "
            << c.outside << " outside this device)"
            << (c.overflow ? "; a device's list overflowed: it lists less than it has" : "")
            << "\n";
        if (const std::string e = poison_watch_->trigger_error(); !e.empty()) {
            out << "poison_watch_error: " << e << "\n";
        }
    }
    const std::vector<DeviceRange> ranges = poison_.list();
    out << "poisoned_ranges: " << ranges.size() << "\n";
    if (ranges.empty()) return out.str();

    std::vector<std::vector<std::string>> hits(ranges.size());
    std::vector<uint64_t> unnamed(ranges.size(), 0);
    std::vector<uint64_t> last(ranges.size(), 0);  // a file's pieces count once
    uint64_t file_no = 0;                          // numbers files from 1
    auto hit = [&](const DeviceRange& piece, const std::string& path) {
        auto it =
            std::lower_bound(ranges.begin(), ranges.end(), piece.offset,
                             [](const DeviceRange& r, uint64_t off) { return r.end() <= off; });
        for (; it != ranges.end() && it->offset < piece.end(); ++it) {
            const size_t i = static_cast<size_t>(it - ranges.begin());
            if (last[i] == file_no) continue;
            last[i] = file_no;
            if (hits[i].size() < kNamedPerRange) {
                hits[i].push_back(path);
            } else {
                unnamed[i]++;
            }
        }
    };
    const auto sb = omf::superblock_extent();
    const auto log = omf::log_extent(volume_->superblock());
    file_no++;
    hit({sb.offset, sb.len}, std::string("/") + meta::kSuperblockPath);
    file_no++;
    hit({log.offset, log.len}, std::string("/") + meta::kLogPath);
    const uint8_t* base = volume_->device().base();
    state_->ns.for_each([&](const Node& n) {
        if (n.is_dir) return;
        auto map = dax::FileMapping::from_entry(volume_->shared_device(), n.file);
        if (!map) return;  // replay admitted only maps inside the device
        const std::string path = shown_path(n.file.relpath);
        file_no++;
        for (const dax::Segment& seg : map->segments()) {
            hit({static_cast<uint64_t>(seg.bytes.data() - base), seg.bytes.size()}, path);
        }
    });
    for (size_t i = 0; i < ranges.size(); i++) {
        out << key(meta::kKeyPoisoned) << describe_range(ranges[i]) << ": ";
        if (!name_files) {
            const uint64_t n = hits[i].size() + unnamed[i];
            out << (n == 0 ? std::string("no file")
                           : std::to_string(n) + (n == 1 ? " file" : " files") +
                                 " (named to root only)")
                << "\n";
            continue;
        }
        if (hits[i].empty()) out << "no file";
        for (size_t k = 0; k < hits[i].size(); k++) out << (k ? ", " : "") << hits[i][k];
        if (unnamed[i]) out << ", and " << unnamed[i] << " more";
        out << "\n";
    }
    return out.str();
}

}  // namespace famfs::fused
