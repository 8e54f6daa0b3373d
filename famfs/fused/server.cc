#include "server.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "famfs/omf.h"
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
    // Before the replay: from here on this host's request blocks the reuse
    // of any space deleted later (docs/delete.md, "Getting a slot").
    auto member = Membership::join(s->device(), s->volume_->superblock(), opt.membership);
    if (!member) return member.error();
    s->membership_ = std::move(member.value());
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
    // The master's first delete may mark the superblock in between.
    const bool marked_since = omf::deletes_marked(read) && !omf::deletes_marked(sb);
    if (read.fs_uuid != sb.fs_uuid || (read.crc != sb.crc && !marked_since) ||
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
    membership_.reset();  // its thread calls back into this server
}

void Server::start_membership() {
    Membership::Hooks hooks;
    hooks.watermark = [this] { return watermark(); };
    hooks.fenced = [this](const std::string& why) {
        Staleness st;
        st.cause = Staleness::Cause::kEvicted;
        st.what = "this host was evicted: " + why;
        st.now = "the same file system, without this host";
        note_stale(std::move(st), "the heartbeat");
    };
    membership_->start(std::move(hooks));
}

void Server::leave_host_table() {
    membership_->stop(/*leave=*/true);
}

int Server::registration_errno() {
    return membership_->wait_for_grant();
}

Server::HeldDeleted Server::held_deleted() const {
    HeldDeleted held;
    held.oldest_delete = ~uint64_t{0};
    files_.for_each([&](const FileHandle& h) {
        if (!h.inode.node || !h.inode.node->deleted_at) return;
        ++held.handles;
        held.oldest_delete = std::min(held.oldest_delete, *h.inode.node->deleted_at);
    });
    if (held.handles == 0) held.oldest_delete = 0;
    return held;
}

uint64_t Server::watermark() const {
    // Under one hold of the tree lock: no DELETE is applied meanwhile, and
    // an open enters its handle under the same lock (op_file.cc), so every
    // handle of a file deleted below `applied` is seen here.
    auto rd = read_tree();
    const uint64_t applied = state_->ns.applied();
    const HeldDeleted held = held_deleted();
    return held.handles ? std::min(applied, held.oldest_delete) : applied;
}

void Server::release_file(uint64_t fh) {
    const auto h = files_.get(fh);
    files_.remove(fh);
    if (h && h->inode.node && h->inode.node->deleted_at) membership_->nudge();
}

void Server::note_deletes(const Replay& r, uint64_t counted_below) {
    std::lock_guard lk(report_mutex_);
    for (size_t i = 0; i < r.entries.size(); ++i) {
        const auto* d = std::get_if<omf::DeleteEntry>(&r.entries[i].payload);
        if (!d) continue;
        const Node* n = state_->ns.node_at(d->target);
        if (!n || n->deleted_at != r.first + i || !n->parent) continue;
        // count_subdirs counted it only if it was created in an earlier batch.
        if (n->is_dir && d->target < counted_below) --subdirs_[n->parent->ino];
        deleted_names_.emplace_back(n->parent->ino, std::string(n->name));
    }
}

void Server::forget_deleted_names() {
    std::vector<std::pair<uint64_t, std::string>> names;
    {
        std::lock_guard lk(report_mutex_);
        names.swap(deleted_names_);
    }
    if (!kernel_cache_.entry) return;
    for (const auto& [parent, name] : names) kernel_cache_.entry(parent, name);
}

CatchUp Server::apply_new_entries() {
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
        note_deletes(*r, c.before);
    }
    c.after = state_->ns.applied();
    c.refused = state_->ns.problems().size() - problems_before;
    // The watermark follows the entries applied.
    if (c.after != c.before) membership_->nudge();
    return c;
}

bool Server::read_identity(uint8_t* superblock, uint8_t* log_header) const {
    Device& dev = volume_->device();
    const auto sb = dev.range(0, omf::kSuperblockBytes);
    const auto header = volume_->log().header_bytes();
    // On host-local memory (/dev/shm) every reader shares this host's
    // coherent caches: the invalidates would cost and change nothing.
    const bool read = guarded([&] {
        dev.invalidate_data(sb.data(), sb.size());
        std::memcpy(superblock, sb.data(), sb.size());
        dev.invalidate_data(header.data(), header.size());
        std::memcpy(log_header, header.data(), header.size());
    });
    // A read that crossed the master's delete mark is not a re-format.
    if (read) omf::settle_delete_mark(std::span<uint8_t>(superblock, omf::kSuperblockBytes));
    return read;
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

}  // namespace famfs::fused
