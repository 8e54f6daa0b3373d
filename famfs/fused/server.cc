#include "server.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <ios>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "colocation.h"
#include "datapath.h"
#include "famfs/cache.h"
#include "famfs/dax.h"
#include "famfs/escape.h"
#include "famfs/omf.h"
#include "fuse_transport.h"
#include "inodes.h"
#include "memory_guard.h"
#include "steady_clock.h"

namespace famfs::fused {

Result<std::unique_ptr<Server>> Server::open(const ServerOptions& opt) {
    // Data writes go through this mapping on every host (clients included),
    // so the device is always mapped read-write; metadata stays master-only
    // because the server never appends.
    return serve(opt, Volume::open(opt.device, Access::kReadWrite));
}

Result<std::unique_ptr<Server>> Server::open(const ServerOptions& opt,
                                             std::shared_ptr<Device> device) {
    return serve(opt, Volume::open(std::move(device)));
}

Result<std::unique_ptr<Server>> Server::serve(const ServerOptions& opt,
                                              Result<std::unique_ptr<Volume>> vol) {
    if (!vol) return vol.error();
    std::unique_ptr<Server> s(new Server(opt));
    s->volume_ = std::move(vol.value());
    if (s->device().kind() != DeviceKind::kMemory) {
        auto lock =
            DeviceLock::acquire(s->device().path(), DeviceLock::Kind::kMount, /*wait=*/false);
        if (!lock) return lock.error();
        s->mount_lock_.emplace(std::move(lock.value()));
    }
    uint8_t sb_now[omf::kSuperblockBytes], header_now[omf::kLogHeaderBytes];
    if (!s->read_identity(sb_now, header_now)) {
        return make_error(EIO, "the superblock or the log header is unreadable");
    }
    s->mounted_ = DeviceIdentity::from(sb_now, header_now);
    auto st = s->volume_->load();
    if (!st) return st.error();
    s->state_ = std::make_unique<State>(std::move(st.value()));
    // The device as mounted must be the one just replayed: a re-format
    // between Volume::open (which read the superblock) and the identity
    // read, or during the replay, fails the mount instead of serving a mix.
    const omf::Superblock& sb = s->volume_->superblock();
    const omf::Superblock read = omf::decode_superblock(sb_now);
    if (!s->read_identity(sb_now, header_now)) {
        return make_error(EIO, "the superblock or the log header is unreadable");
    }
    if (read.fs_uuid != sb.fs_uuid || read.crc != sb.crc ||
        compare_identity(s->mounted_, sb_now, header_now, s->state_->next_index)) {
        return make_error(EAGAIN,
                          "the device was re-formatted while it was being mounted; mount again");
    }
    s->count_subdirs(0, s->state_->ns.applied());
    s->last_poll_ns_ = steady_ns();
    // Without one the interception library still asks again every 100 ms.
    if (s->device().kind() != DeviceKind::kMemory) {
        if (auto epoch = EpochPage::create()) s->epoch_.emplace(std::move(*epoch));
    }
    return s;
}

Server::~Server() {
    stop_following();
    stop_poison_watch();
}

CatchUp Server::catch_up() {
    std::lock_guard serial(catch_up_mutex_);
    catch_ups_.fetch_add(1, std::memory_order_relaxed);
    last_poll_ns_ = steady_ns();
    CatchUp c;
    c.before = c.after = state_->ns.applied();
    // Known poison in the log: loading it may raise a machine check, and
    // what it holds cannot be trusted. The device is failed already.
    if (log_poisoned_.load(std::memory_order_acquire)) return c;
    // A re-formatted device: nothing of the new log joins the old tree.
    if (stale()) return c;
    std::optional<Result<Replay>> replayed;
    if (!guarded([&] { replayed.emplace(volume_->log().replay(c.before)); })) {
        mark_failed("the log is unreadable");
        return c;
    }
    // Checked after the replay: if the device still holds the mounted file
    // system now, it held it while the entries were read (a re-format
    // never brings the old superblock and log header back). The next_index
    // of the last catch-up (read under this mutex, as this one) is the floor.
    uint8_t sb_now[omf::kSuperblockBytes], header_now[omf::kLogHeaderBytes];
    if (!read_live_identity(sb_now, header_now)) return c;
    if (auto changed = compare_identity(mounted_, sb_now, header_now, state_->next_index)) {
        note_stale(std::move(*changed), "a catch-up");
        return c;
    }
    auto& r = *replayed;
    {
        std::lock_guard lk(report_mutex_);
        header_error_ = r ? std::string() : r.error().message;
    }
    if (!r) return c;
    const uint64_t problems_before = state_->ns.problems().size();
    {
        std::unique_lock writer(tree_mutex_);
        apply_replay(*state_, *r);
        count_subdirs(c.before, state_->ns.applied());
    }
    c.after = state_->ns.applied();
    c.refused = state_->ns.problems().size() - problems_before;
    return c;
}

bool Server::read_identity(uint8_t* superblock, uint8_t* log_header) const {
    Device& dev = volume_->device();
    const auto sb = dev.range(0, omf::kSuperblockBytes);
    const auto header = volume_->log().header_bytes();
    // On host-local memory (/dev/shm) every reader shares this host's
    // coherent caches: the invalidates would cost and change nothing.
    return guarded([&] {
        dev.invalidate_data(sb.data(), sb.size());
        std::memcpy(superblock, sb.data(), sb.size());
        dev.invalidate_data(header.data(), header.size());
        std::memcpy(log_header, header.data(), header.size());
    });
}

bool Server::read_live_identity(uint8_t* superblock, uint8_t* log_header) {
    if (!read_identity(superblock, log_header)) return false;
    const bool all_ones = std::all_of(superblock, superblock + omf::kSuperblockBytes,
                                      [](uint8_t b) { return b == 0xff; });
    if (!all_ones) return true;
    mark_failed("the device's memory reads as all ones (CXL.mem disabled or the link is down)");
    return false;
}

std::optional<Staleness> Server::change_now() const {
    uint8_t sb_now[omf::kSuperblockBytes], header_now[omf::kLogHeaderBytes];
    if (!read_identity(sb_now, header_now)) return std::nullopt;
    return compare_identity(mounted_, sb_now, header_now, std::nullopt);
}

bool Server::device_changed(const char* during) {
    if (stale()) return true;
    uint8_t sb_now[omf::kSuperblockBytes], header_now[omf::kLogHeaderBytes];
    // Failed memory marks the device failed; the callers answer EIO then.
    if (!read_live_identity(sb_now, header_now)) return false;
    auto changed = compare_identity(mounted_, sb_now, header_now, std::nullopt);
    if (!changed) return false;
    note_stale(std::move(*changed), during);
    return stale();  // not when the memory has failed meanwhile
}

int Server::device_errno(const char* during) {
    if (failed()) return EIO;
    if (device_changed(during)) return ESTALE;
    return failed() ? EIO : 0;  // the check itself may have found failed memory
}

void Server::note_stale(Staleness st, const char* during) {
    std::lock_guard lk(report_mutex_);
    if (stale_.load(std::memory_order_acquire)) return;  // the first finding stays
    if (failed()) return;  // failed memory reads as anything (answers_stale)
    staleness_ = std::move(st);
    stale_during_ = during;
    stale_at_ = std::chrono::system_clock::now();
    stale_.store(true, std::memory_order_release);
    if (epoch_) epoch_->bump();
}

void Server::invalidate_kernel_caches() {
    if (kernel_invalidated_.exchange(true, std::memory_order_acq_rel)) return;
    if (!kernel_cache_.inode || !kernel_cache_.entry) return;
    std::vector<uint64_t> inos;
    std::vector<std::pair<uint64_t, std::string>> names;
    {
        auto rd = read_tree();
        state_->ns.for_each([&](const Node& n) {
            inos.push_back(n.ino);
            if (n.parent) names.emplace_back(n.parent->ino, std::string(n.name));
        });
    }
    inos.push_back(meta_ino(MetaFile::kSuperblock));
    inos.push_back(meta_ino(MetaFile::kLog));
    // No lock is held here: the kernel may wait for requests on these
    // inodes (a page being read, a dirty page being written back, which
    // now fails) before it returns. Inodes first: a mapped file's pages go
    // with its inode, not with its name.
    int64_t dropped = 0, forgotten = 0;
    for (const uint64_t ino : inos) {
        if (kernel_cache_.inode(ino) == 0) dropped++;
    }
    for (const auto& [parent, name] : names) {
        if (kernel_cache_.entry(parent, name) == 0) forgotten++;
    }
    names_invalidated_.store(forgotten, std::memory_order_release);
    inodes_invalidated_.store(dropped, std::memory_order_release);
}

void Server::count_subdirs(uint64_t first_index, uint64_t end_index) {
    for (uint64_t i = first_index; i < end_index; i++) {
        const Node* n = state_->ns.find_ino(i + 2);
        if (n && n->is_dir && n->parent) subdirs_[n->parent->ino]++;
    }
}

uint64_t Server::subdirs(const Node& dir) const {
    auto it = subdirs_.find(dir.ino);
    return it == subdirs_.end() ? 0 : it->second;
}

uint64_t Server::known_next_index() const {
    auto rd = read_tree();
    return state_->next_index;
}

bool Server::stalled() const {
    auto rd = read_tree();
    return !state_->log_is_clean();
}

void Server::mark_failed(const std::string& why) {
    {
        std::lock_guard lk(report_mutex_);
        failure_ = why;
    }
    failed_.store(true, std::memory_order_release);
    if (epoch_) epoch_->bump();
}

void Server::note_memory_failure(const void* addr) {
    fault_addr_.store(addr);
    failed_.store(true, std::memory_order_release);
    if (epoch_) epoch_->bump();
}

namespace {

std::string hex(uint64_t v) {
    std::ostringstream out;
    out << "0x" << std::hex << v;
    return out.str();
}

// "device offset 0x200000 (+0x40)": the form every poison line uses.
std::string describe_range(const DeviceRange& r) {
    return "device offset " + hex(r.offset) + " (+" + hex(r.len) + ")";
}

bool overlaps(const DeviceRange& r, const omf::Extent& e) {
    return r.overlaps(DeviceRange{e.offset, e.len});
}

}  // namespace

void Server::add_poison(const DeviceRange& r) {
    switch (poison_.add(r)) {
        case PoisonedRanges::Added::kKnown:
            return;
        case PoisonedRanges::Added::kFull:
            mark_failed("more than " + std::to_string(PoisonedRanges::kMaxRanges) +
                        " poisoned ranges");
            return;
        case PoisonedRanges::Added::kNew:
            if (epoch_) epoch_->bump();
            break;
    }
    if (overlaps(r, omf::log_extent(volume_->superblock())) &&
        !log_poisoned_.exchange(true, std::memory_order_acq_rel)) {
        mark_failed("poison in the log at " + describe_range(r));
    }
}

void Server::start_poison_watch() {
    stop_poison_watch();
    poison_watch_ = poison::Watcher::create(opt_.poison_watch, opt_.device, device().size(),
                                            [this](const DeviceRange& r) { add_poison(r); });
    poison_watch_->start();
}

void Server::stop_poison_watch() {
    poison_watch_.reset();  // stops its thread and removes its trace instance
}

namespace {

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

}  // namespace

namespace {

// Who decides access on this mount (permissions.h).
std::string permission_status(const ServerOptions& o) {
    return std::string("permissions: ") +
           (o.default_permissions ? "kernel (default_permissions: mode bits, checked by the kernel)"
                                  : "server (-p: famfs_fused checks mode bits itself)") +
           "\nallow_other: " + (o.allow_other ? "yes" : "no (the mounting user only)") + "\n";
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
        out << "role: " << to_string(role()) << "\n"
            << "pid: " << getpid() << "\n"
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
            << "entries_replayed: " << ns.applied() << "\n"
            << "log_next_index: " << next << "\n"
            << "follow_lag_entries: " << (next > ns.applied() ? next - ns.applied() : 0) << "\n"
            << "follow_last_check_ms: " << since_ms << "\n"
            << "catch_ups: " << catch_ups_.load() << "\n"
            << "files: " << ns.files() << "\n"
            << "directories: " << ns.dirs() << "\n"
            << "capacity_bytes: " << state_->alloc.capacity() << "\n"
            << "free_bytes: " << state_->alloc.free_bytes() << "\n";
        std::lock_guard lk(report_mutex_);
        const bool stopped = state_->invalid_index.has_value();
        const uint64_t errors = ns.problems().size() + (stopped ? 1 : 0) +
                                (header_error_.empty() ? 0 : 1) + (staleness_ ? 1 : 0);
        const Staleness* change =
            changed_now ? &*changed_now : (staleness_ ? &*staleness_ : nullptr);
        out << stale_status(change);
        out << "errors: " << errors << "\n";
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
        if (change) {
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
    }
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
    hit({sb.offset, sb.len}, "/.meta/.superblock");
    file_no++;
    hit({log.offset, log.len}, "/.meta/.log");
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
        out << "poisoned: " << describe_range(ranges[i]) << ": ";
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
