#include "famfs/volume.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <initializer_list>

#include "famfs/host_registration.h"
#include "famfs/host_table.h"
#include "famfs/memsafe.h"
#include "famfs/mounts.h"

namespace famfs {
namespace {

constexpr uint64_t kMinDataUnits = 1;

Status check_parent(const PathIndex& paths, const std::string& relpath) {
    std::string parent(split_relpath(relpath).first);
    const PathIndex::Id p = paths.find(parent);
    if (p == PathIndex::kNone)
        return make_error(ENOENT,
                          "'" + relpath + "': parent directory '" + parent + "' does not exist");
    if (!paths.is_dir(p))
        return make_error(ENOTDIR, "'" + relpath + "': '" + parent + "' is not a directory");
    return {};
}

// An unreadable system UUID is an error, not the client role: a master
// whose file went bad must hear why it cannot write.
Result<Role> role_for(const omf::Superblock& sb) {
    auto me = local_system_uuid();
    if (!me) return me.error();
    return *me == sb.system_uuid ? Role::kMaster : Role::kClient;
}

// A file's extents are claimed when its map is in bounds, even if its path
// is refused: that space may hold data.
void apply_entry(State& st, omf::LogEntry&& e, uint64_t index) {
    if (const auto* del = std::get_if<omf::DeleteEntry>(&e.payload)) {
        const bool file = del->kind == omf::DeleteKind::kFile;
        const uint64_t target = del->target;
        if (st.ns.apply(std::move(e), index, Status{}) && file) st.alloc.pend(target, index);
        return;
    }
    const auto* f = std::get_if<omf::FileEntry>(&e.payload);
    const Status map = f ? validate_file_map(*f, st.layout) : Status{};
    if (f && map) st.alloc.claim(*f, index);
    (void)st.ns.apply(std::move(e), index, map);  // refusals are kept in ns.problems()
}

void record_end(State& st, const Replay& r) {
    st.next_index = r.next_index;
    st.invalid_index = r.invalid_index;
    st.invalid_reason = r.invalid_reason;
}

}  // namespace

void apply_replay(State& st, Replay r) {
    st.ns.reserve(r.entries.size());
    for (size_t i = 0; i < r.entries.size(); ++i)
        apply_entry(st, std::move(r.entries[i]), r.first + i);
    record_end(st, r);
}

Status replay_new_entries(const LogView& log, State& st) {
    const uint64_t known = st.ns.applied(), next = log.next_index();
    if (next > known) st.ns.reserve(std::min(next, log.capacity()) - known);
    auto r = log.replay(
        known, [&](omf::LogEntry& e, uint64_t index) { apply_entry(st, std::move(e), index); });
    if (!r) return r.error();
    record_end(st, *r);
    return {};
}

// ---- Volume ----

Volume::Volume(std::shared_ptr<Device> device, const omf::Superblock& sb, Role role)
    : device_(std::move(device)),
      sb_(sb),
      layout_(sb),
      log_(*device_, sb.log_offset, sb.log_len),
      role_(role) {
    if (layout_.dev_size == 0 || layout_.dev_size > device_->size())
        layout_.dev_size = device_->size();
}

Result<std::unique_ptr<Volume>> Volume::open(const std::string& device_path, Access access) {
    // Taken before the superblock is read: a device being formatted is
    // refused rather than read half-written. A lock that cannot be taken for
    // another reason (a read-only copy of the metadata, ...) is done without.
    auto lock = DeviceLock::acquire(device_path, DeviceLock::Kind::kUse, /*wait=*/false);
    if (!lock && lock.error().code == EBUSY)
        return make_error(EBUSY, device_path + ": device is being formatted (mkfs.famfs)");
    auto dev = open_device(device_path, access);
    if (!dev) return dev.error();
    auto v = open(std::shared_ptr<Device>(std::move(dev.value())));
    if (v && lock) (*v)->use_lock_.emplace(std::move(lock.value()));
    return v;
}

Result<std::unique_ptr<Volume>> Volume::open(std::shared_ptr<Device> device) {
    const std::string& path = device->path();
    if (device->size() < omf::kLogOffset + omf::kMinLogLen)
        return make_error(EINVAL, path + ": device of " + std::to_string(device->size()) +
                                      " bytes is too small to hold a famfs file system");
    auto sb_mem = device->range(0, omf::kSuperblockBytes);
    uint8_t raw[omf::kSuperblockBytes];
    Status read = memsafe::guarded(sb_mem.data(), sb_mem.size(), [&] {
        device->invalidate(sb_mem.data(), sb_mem.size());
        std::memcpy(raw, sb_mem.data(), sizeof raw);
    });
    if (!read) return make_error(EIO, path + ": superblock: " + read.error().message);
    // Read across the master's delete mark, or left half-marked by it.
    omf::settle_delete_mark(raw);
    if (auto s = omf::validate_superblock(raw); !s)
        return make_error(s.error().code, path + ": " + s.error().message);
    omf::Superblock sb = omf::decode_superblock(raw);
    if (sb.log_offset + sb.log_len > device->size())
        return make_error(EINVAL, path + ": the log (" + std::to_string(sb.log_len) +
                                      " bytes) runs past the end of the device");
    auto role = role_for(sb);
    if (!role) return role.error();
    std::unique_ptr<Volume> v(new Volume(std::move(device), sb, *role));
    if (auto h = v->log_.header(); !h)
        return make_error(h.error().code, path + ": " + h.error().message);
    return v;
}

Result<State> Volume::load() const {
    State st(layout_);
    if (auto s = replay_new_entries(log_, st); !s)
        return make_error(s.error().code, device_->path() + ": " + s.error().message);
    return st;
}

Status Volume::require_master() const {
    if (role_ == Role::kMaster) return {};
    return make_error(EPERM, device_->path() +
                                 ": this host is not the master (role: client; the master "
                                 "is system " +
                                 omf::uuid_to_string(sb_.system_uuid) + ")");
}

// Which paths a writer's PathIndex holds. Replay admits an entry or not
// by earlier entries for the same path and for its ancestors only (the
// parent must be a directory, the name must be free), so an index of a few
// paths and their ancestors answers for them exactly as the index of every
// path would, without an insert per logged file: a one-file creat on a
// long log skips a quarter of its replay.
class Volume::PathScope {
  public:
    static PathScope every_path() { return PathScope(); }
    // `relpaths` and all their ancestors.
    explicit PathScope(std::initializer_list<std::string_view> relpaths) : all_(false) {
        for (std::string_view p : relpaths)
            for (size_t end = p.find('/');; end = p.find('/', end + 1)) {
                paths_.emplace_back(p.substr(0, end));
                if (end == std::string_view::npos) break;
            }
    }
    bool covers(std::string_view relpath) const {
        return all_ || std::find(paths_.begin(), paths_.end(), relpath) != paths_.end();
    }
    bool covers(const PathScope& other) const {
        if (all_) return true;
        return !other.all_ && std::all_of(other.paths_.begin(), other.paths_.end(),
                                          [&](const std::string& p) { return covers(p); });
    }
    bool is_every_path() const { return all_; }

  private:
    PathScope() = default;
    bool all_ = true;
    std::vector<std::string> paths_;
};

// The writers' state: which paths exist and which space is taken, caught
// up with the log under the append lock. It holds no file maps, since a
// `famfs creat` replays the whole log on every call and must stay cheap;
// the map of an existing file is read back from its log entry.
struct Volume::WriterState {
    WriterState(const omf::Superblock& sb, PathScope s)
        : layout(sb), scope(std::move(s)), alloc(sb) {}
    omf::Superblock layout;  // the bounds extents are checked against
    PathScope scope;         // the paths `paths` holds
    PathIndex paths;
    Allocator alloc;
    uint64_t applied = 0;  // the next log index to apply
    std::optional<uint64_t> invalid_index;
    std::optional<Error> invalid_reason;

    bool needs_every_path = false;  // a DELETE that a scoped index cannot judge

    // `claimed`: a file's extents are already marked (this writer
    // allocated them), so claiming them again would report a collision.
    void apply(const omf::LogEntry& e, uint64_t index, bool claimed) {
        applied = index + 1;
        auto* f = std::get_if<omf::FileEntry>(&e.payload);
        auto* d = std::get_if<omf::MkdirEntry>(&e.payload);
        if (auto* del = std::get_if<omf::DeleteEntry>(&e.payload)) return apply_delete(*del, index);
        if (!f && !d) return;
        const Status map = f ? validate_file_map(*f, layout) : Status{};
        if (f && map && claimed) alloc.adopt(*f, index);
        if (f && map && !claimed) alloc.claim(*f, index);
        const std::string& relpath = f ? f->relpath : d->relpath;
        if (!scope.covers(relpath)) return;
        auto place = admit_entry(paths, relpath, map);
        if (place) paths.add(*place, d != nullptr, index);
    }

    // Whether a DELETE of a directory is admitted depends on all its
    // children, which a scoped index does not hold: the writer rebuilds
    // with every path (begin_write) as soon as it meets one.
    void apply_delete(const omf::DeleteEntry& del, uint64_t index) {
        if (!scope.is_every_path()) {
            needs_every_path = true;
            return;
        }
        auto id = admit_delete(paths, del, index);
        if (!id) return;
        paths.remove(*id);
        if (del.kind == omf::DeleteKind::kFile) alloc.pend(del.target, index);
    }
};

Volume::~Volume() = default;

Status Volume::refresh_writer_state(WriterState& w) const {
    const uint64_t next = log_.next_index();
    if (w.scope.is_every_path() && next > w.applied)
        w.paths.reserve(std::min(next, log_.capacity()) - w.applied);
    auto r =
        log_.replay(w.applied, [&](omf::LogEntry& e, uint64_t index) { w.apply(e, index, false); });
    if (!r) return r.error();
    w.applied = r->valid_end;
    w.invalid_index = r->invalid_index;
    w.invalid_reason = r->invalid_reason;
    return {};
}

Result<omf::FileEntry> Volume::logged_file(uint64_t index) const {
    auto e = log_.entry(index);
    if (!e) return e.error();
    auto* f = std::get_if<omf::FileEntry>(&e->payload);
    if (!f) return make_error(EBADMSG, "log entry " + std::to_string(index) + " is not a file");
    return std::move(*f);
}

// Holds the append lock and the writers' state, caught up with the log.
class Volume::WriteSession {
  public:
    WriteSession(std::unique_lock<std::mutex> guard, std::optional<DeviceLock> lock, Volume& v)
        : guard_(std::move(guard)), lock_(std::move(lock)), v_(v) {}
    WriterState& state() { return *v_.cache_; }

    // Appends `entry` and applies it to the state. `claimed`: its extents
    // were allocated (so marked) by this session; a clone's are not.
    Status append(omf::LogEntry entry, bool claimed) {
        const uint64_t index = state().applied;
        if (auto s = v_.log_.append(entry); !s) {
            v_.cache_stale_ = true;  // allocations made for it are void
            return s;
        }
        state().apply(entry, index, claimed);
        return {};
    }
    uint64_t free_entries() const { return v_.log_.capacity() - v_.cache_->applied; }
    void mark_stale() { v_.cache_stale_ = true; }

  private:
    std::unique_lock<std::mutex> guard_;
    std::optional<DeviceLock> lock_;
    Volume& v_;
};

Result<Volume::WriteSession> Volume::begin_write(const PathScope& names) {
    FAMFS_TRY(require_master());
    std::unique_lock<std::mutex> guard(mu_);
    std::optional<DeviceLock> lock;
    if (device_->kind() != DeviceKind::kMemory) {  // in-memory test devices have no file to lock
        auto l = DeviceLock::acquire(device_->path(), DeviceLock::Kind::kAppend, true);
        if (!l) return l.error();
        lock.emplace(std::move(l.value()));
    }
    const bool covered = cache_ && cache_->scope.covers(names);
    if (!covered || cache_stale_) {
        // The first write keeps to the paths it names; a later one outside
        // them takes every path for good, so many writes rebuild once.
        PathScope scope = covered ? cache_->scope : cache_ ? PathScope::every_path() : names;
        cache_ = std::make_unique<WriterState>(layout_, std::move(scope));
        cache_stale_ = false;
    }
    if (auto s = refresh_writer_state(*cache_); !s)
        return make_error(s.error().code, device_->path() + ": " + s.error().message);
    if (cache_->needs_every_path) {
        cache_ = std::make_unique<WriterState>(layout_, PathScope::every_path());
        if (auto s = refresh_writer_state(*cache_); !s)
            return make_error(s.error().code, device_->path() + ": " + s.error().message);
    }
    if (cache_->invalid_index)
        return make_error(EBADMSG, device_->path() + ": the log has an invalid entry at index " +
                                       std::to_string(*cache_->invalid_index) + " (" +
                                       cache_->invalid_reason->message +
                                       "); refusing to append after it (run famfs fsck)");
    return WriteSession(std::move(guard), std::move(lock), *this);
}

// The file `spec` names: the existing one when it has the same size, else
// a new allocation (not yet logged). `free_entries`: log entries the new
// file may use (a transaction's reserved files have promises on the rest).
Result<Volume::Created> Volume::allocate(WriterState& st, const CreateSpec& spec,
                                         uint64_t free_entries) {
    FAMFS_TRY(validate_relpath(spec.relpath));
    if (spec.size == 0)
        return make_error(EINVAL, "'" + spec.relpath + "': file size must be greater than 0");
    if (const PathIndex::Id id = st.paths.find(spec.relpath); id != PathIndex::kNone) {
        if (st.paths.is_dir(id))
            return make_error(EISDIR, "'" + spec.relpath + "': is a directory");
        auto existing = logged_file(st.paths.log_index(id));
        if (!existing) return existing.error();
        if (existing->size != spec.size)
            return make_error(EEXIST, "'" + spec.relpath +
                                          "': file exists with a different size (" +
                                          std::to_string(existing->size) +
                                          " != " + std::to_string(spec.size) + ")");
        if (omf::flags_read_only(spec.flags) && !existing->read_only())
            return make_error(EEXIST, "'" + spec.relpath +
                                          "': file exists read-write; a logged file's flags "
                                          "cannot be changed to read-only");
        return Created{std::move(*existing), false};
    }
    FAMFS_TRY(check_parent(st.paths, spec.relpath));
    if (free_entries == 0) return make_error(ENOSPC, "'" + spec.relpath + "': the log is full");
    FAMFS_TRY(reclaim_pending(st.alloc));
    auto f = st.alloc.allocate_file(spec.size, spec.interleave);
    if (!f) return make_error(f.error().code, "'" + spec.relpath + "': " + f.error().message);
    f->relpath = spec.relpath;
    f->mode = spec.mode & 07777;
    f->uid = spec.uid;
    f->gid = spec.gid;
    f->flags = spec.flags;
    return Created{*f, true};
}

Result<Volume::Created> Volume::create_file(const CreateSpec& spec) {
    auto w = begin_write(PathScope{spec.relpath});
    if (!w) return w.error();
    auto c = allocate(w->state(), spec, w->free_entries());
    if (c && c->created) FAMFS_TRY(w->append(omf::LogEntry{0, c->file}, true));
    return c;
}

Status Volume::mkdir(const std::string& relpath, uint32_t mode, uint32_t uid, uint32_t gid,
                     bool parents) {
    auto w = begin_write(PathScope{relpath});
    if (!w) return w.error();
    return mkdir_in(*w, relpath, mode, uid, gid, parents, w->free_entries());
}

Status Volume::mkdir_in(WriteSession& session, const std::string& relpath, uint32_t mode,
                        uint32_t uid, uint32_t gid, bool parents, uint64_t free_entries) {
    FAMFS_TRY(validate_relpath(relpath));
    const PathIndex& paths = session.state().paths;

    // Work out every directory to create before appending any, so a full
    // log or a file in the way fails the whole command.
    std::vector<std::string> todo;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = relpath.find('/', pos + 1);
        std::string prefix = relpath.substr(0, pos);
        bool last = pos == std::string::npos;
        const PathIndex::Id id = paths.find(prefix);
        const bool exists = id != PathIndex::kNone;
        if (exists && !paths.is_dir(id))
            return make_error(ENOTDIR, "'" + prefix + "': exists and is not a directory");
        if (exists && last && !parents)
            return make_error(EEXIST, "'" + relpath + "': already exists");
        if (!exists && !last && !parents)
            return make_error(
                ENOENT, "'" + relpath + "': parent directory '" + prefix + "' does not exist");
        if (!exists) todo.push_back(prefix);
    }
    if (todo.size() > free_entries) return make_error(ENOSPC, "'" + relpath + "': the log is full");
    for (const auto& d : todo)
        FAMFS_TRY(
            session.append(omf::LogEntry{0, omf::MkdirEntry{uid, gid, mode & 07777, d}}, false));
    return {};
}

Status Volume::clone(const std::string& src, const std::string& dst) {
    FAMFS_TRY(validate_relpath(dst));
    auto w = begin_write(PathScope{src, dst});
    if (!w) return w.error();
    const PathIndex& paths = w->state().paths;
    const PathIndex::Id s = paths.find(src);
    if (s == PathIndex::kNone) return make_error(ENOENT, "'" + src + "': no such famfs file");
    if (paths.is_dir(s)) return make_error(EISDIR, "'" + src + "': is a directory");
    if (paths.find(dst) != PathIndex::kNone)
        return make_error(EEXIST, "'" + dst + "': already exists");
    FAMFS_TRY(check_parent(paths, dst));
    if (w->free_entries() == 0) return make_error(ENOSPC, "'" + dst + "': the log is full");
    auto f = logged_file(paths.log_index(s));
    if (!f) return f.error();
    f->relpath = dst;
    return w->append(omf::LogEntry{0, std::move(*f)}, false);
}

// ---- deletes (docs/delete.md) ----

namespace {

// Children before their directory, so every DELETE is admitted in turn.
void post_order(const Node& n, std::vector<omf::DeleteEntry>& out) {
    for (const Node* c = n.first_child; c; c = c->next_sibling) post_order(*c, out);
    out.push_back({n.relpath(), n.log_index,
                   n.is_dir ? omf::DeleteKind::kDirectory : omf::DeleteKind::kFile});
}

}  // namespace

Result<std::vector<omf::DeleteEntry>> Volume::deletes_for(const PathIndex& paths,
                                                          const std::string& relpath,
                                                          RemoveMode mode) const {
    const std::string shown = "'" + relpath + "': ";
    const PathIndex::Id id = paths.find(relpath);
    if (id == PathIndex::kNone) return make_error(ENOENT, shown + "no such file or directory");
    const bool dir = paths.is_dir(id);
    if (!dir && mode == RemoveMode::kEmptyDirectory)
        return make_error(ENOTDIR, shown + "is not a directory");
    if (dir && mode == RemoveMode::kFile)
        return make_error(EISDIR, shown + "is a directory (use rm -r, or rmdir)");
    if (dir && mode == RemoveMode::kEmptyDirectory && paths.children(id) != 0)
        return make_error(ENOTEMPTY, shown + "directory not empty");
    const auto kind = dir ? omf::DeleteKind::kDirectory : omf::DeleteKind::kFile;
    if (!dir || paths.children(id) == 0)
        return std::vector<omf::DeleteEntry>{{relpath, paths.log_index(id), kind}};
    // A tree: the writer's index lists no children, a full replay does (the
    // append lock is held, so the log cannot change on this host meanwhile).
    auto st = load();
    if (!st) return st.error();
    const Node* n = st->ns.lookup(relpath);
    if (!n || n->log_index != paths.log_index(id))
        return make_error(EAGAIN, shown + "changed during the delete; try again");
    std::vector<omf::DeleteEntry> out;
    post_order(*n, out);
    return out;
}

// Frees the pending space the host table allows (docs/delete.md): read
// afresh before every allocation, as hosts advance their watermarks.
Status Volume::reclaim_pending(Allocator& alloc) const {
    if (alloc.pending().empty()) return {};
    if (reclaim_gate_is_off()) {
        alloc.reclaim(SlotBound::kUnbounded);
        return {};
    }
    // Every master command that looks at the table grants what waits: a
    // granted request still blocks (watermark 0) until its host publishes.
    if (auto g = grant_requests(*device_, sb_, role_); !g) return g.error();
    auto table = read_host_table(*device_);
    if (!table) return table.error();
    alloc.reclaim(reclaim_horizon(*table, sb_.fs_uuid));
    return {};
}

Status Volume::mark_for_deletes() {
    auto mem = device_->range(0, omf::kSuperblockBytes);
    uint8_t raw[omf::kSuperblockBytes];
    Status read = memsafe::guarded(mem.data(), mem.size(), [&] {
        device_->invalidate(mem.data(), mem.size());
        std::memcpy(raw, mem.data(), sizeof raw);
    });
    if (!read) return make_error(EIO, device_->path() + ": superblock: " + read.error().message);
    uint8_t marked[omf::kSuperblockBytes];
    std::memcpy(marked, raw, sizeof raw);
    // A mark an earlier master left half-written is completed below.
    omf::settle_delete_mark(marked);
    FAMFS_TRY(omf::validate_superblock(marked));
    const omf::Superblock now = omf::decode_superblock(marked);
    if (now.fs_uuid != sb_.fs_uuid)
        return make_error(ESTALE, device_->path() + ": the device was formatted again");
    omf::mark_superblock_bytes_for_deletes(marked);
    if (std::memcmp(marked, raw, sizeof raw) != 0) {
        std::memcpy(mem.data(), marked, sizeof marked);
        FAMFS_TRY(device_->persist(mem.data(), mem.size()));
    }
    sb_.version = layout_.version = omf::kSuperblockVersionDeletes;
    sb_.omf_minor = layout_.omf_minor = omf::kOmfMinorDeletes;
    return {};
}

Status Volume::remove(const std::string& relpath, RemoveMode mode) {
    if (role_ != Role::kMaster)
        return make_error(EROFS, "'" + relpath +
                                     "': this host is a client; only the master (system " +
                                     omf::uuid_to_string(sb_.system_uuid) + ") deletes");
    FAMFS_TRY(validate_relpath(relpath));
    auto w = begin_write(PathScope::every_path());
    if (!w) return w.error();
    auto todo = deletes_for(w->state().paths, relpath, mode);
    if (!todo) return todo.error();
    if (todo->size() > w->free_entries())
        return make_error(ENOSPC, "'" + relpath + "': the log is full (" +
                                      std::to_string(todo->size()) + " entries needed, " +
                                      std::to_string(w->free_entries()) + " free)");
    FAMFS_TRY(mark_for_deletes());
    for (auto& d : *todo) FAMFS_TRY(w->append(omf::LogEntry{0, std::move(d)}, false));
    return {};
}

// ---- transactions: data first, then the log entry ----

Volume::Transaction::Transaction(std::unique_ptr<WriteSession> session, Volume& v)
    : session_(std::move(session)), v_(v) {}

Volume::Transaction::~Transaction() {
    // Reserved space that was never logged is free again: rebuild the
    // writers' state from the log next time rather than keep it marked.
    if (reserved_ > 0) session_->mark_stale();
}

Result<Volume::Created> Volume::Transaction::reserve(const CreateSpec& spec) {
    std::lock_guard<std::mutex> g(mu_);
    auto c = v_.allocate(session_->state(), spec, session_->free_entries() - reserved_);
    if (c && c->created) ++reserved_;
    return c;
}

Status Volume::Transaction::commit(const omf::FileEntry& file) {
    std::lock_guard<std::mutex> g(mu_);
    if (reserved_ == 0) return make_error(EINVAL, "'" + file.relpath + "': nothing reserved");
    // The allocation is already marked in the state: append just the entry.
    FAMFS_TRY(session_->append(omf::LogEntry{0, file}, true));
    --reserved_;
    return {};
}

Status Volume::Transaction::mkdir(const std::string& relpath, uint32_t mode, uint32_t uid,
                                  uint32_t gid) {
    std::lock_guard<std::mutex> g(mu_);
    // Entries promised to reserved files are not the directories' to take.
    return v_.mkdir_in(*session_, relpath, mode, uid, gid, true,
                       session_->free_entries() - reserved_);
}

Result<std::unique_ptr<Volume::Transaction>> Volume::begin_transaction() {
    auto w = begin_write(PathScope::every_path());
    if (!w) return w.error();
    auto session = std::make_unique<WriteSession>(std::move(w.value()));
    return std::unique_ptr<Transaction>(new Transaction(std::move(session), *this));
}

// ---- mkfs ----

namespace {

Status check_mkfs_size(const std::string& path, uint64_t size, const MkfsOptions& opt) {
    uint64_t layout = omf::kLogOffset + opt.log_len + kMinDataUnits * omf::kAllocUnit;
    if (size < layout)
        return make_error(ENOSPC, path + ": device of " + std::to_string(size) +
                                      " bytes is smaller than the " + std::to_string(layout) +
                                      " bytes the layout needs");
    if (size < omf::kMinDeviceSize && !opt.allow_small)
        return make_error(EINVAL, path + ": device of " + std::to_string(size) +
                                      " bytes is under the 4 GiB famfs minimum (for a test or "
                                      "lab device, add --allow-small)");
    return {};
}

bool has_superblock_magic(Device& dev) {
    uint64_t magic;
    std::memcpy(&magic, dev.base(), sizeof magic);
    return magic == omf::kSuperblockMagic;
}

// Everything that can refuse a mkfs, checked before anything is written or
// resized, so a refused mkfs leaves the device exactly as it was.
Status check_mkfs(const std::string& path, const MkfsOptions& opt) {
    if (opt.log_len < omf::kMinLogLen || !std::has_single_bit(opt.log_len))
        return make_error(EINVAL, "log length " + std::to_string(opt.log_len) +
                                      " must be a power of two of at least 8 MiB");
    if (opt.kill && !opt.force) return make_error(EINVAL, path + ": -k needs -f");
    if (served_here(path)) {
        const std::string who = DeviceLock::holders(path, DeviceLock::Kind::kMount);
        return make_error(EBUSY, path + ": device is in use (mounted by famfs" +
                                     (who.empty() ? "" : ": " + who) + ")");
    }
    bool exists = access(path.c_str(), F_OK) == 0;
    if (!exists && !opt.create_size)
        return make_error(ENOENT, path + ": no such device (give a size to create a file)");
    if (!exists) return opt.kill ? Status{} : check_mkfs_size(path, opt.create_size, opt);
    auto d = open_device(path, Access::kReadOnly);
    if (!d) return d.error();
    if (has_superblock_magic(**d) && !opt.force)
        return make_error(EEXIST,
                          path + ": already holds a famfs superblock (use -f to overwrite it)");
    if (opt.kill) return {};
    return check_mkfs_size(path, opt.create_size ? opt.create_size : (*d)->size(), opt);
}

Status write_filesystem(Device& dev, const std::string& path, const MkfsOptions& opt) {
    auto me = local_system_uuid();
    if (!me) return me.error();
    // Invalidate any old superblock first, then the log, then the new
    // superblock last: a crash at any point leaves no valid-looking mix.
    auto sb_bytes = dev.range(0, omf::kSuperblockRegion);
    std::memset(sb_bytes.data(), 0, sb_bytes.size());
    FAMFS_TRY(dev.persist(sb_bytes.data(), sb_bytes.size()));
    FAMFS_TRY(format_log(dev, omf::kLogOffset, opt.log_len));
    omf::Superblock sb;
    sb.log_len = opt.log_len;
    sb.fs_uuid = omf::random_uuid();
    sb.dev_uuid = omf::random_uuid();
    sb.system_uuid = *me;
    sb.dev_size = dev.size();
    sb.dev_name = path;
    omf::encode_superblock(sb, sb_bytes);
    return dev.persist(sb_bytes.data(), omf::kSuperblockBytes);
}

}  // namespace

Status mkfs(const std::string& path, const MkfsOptions& opt) {
    FAMFS_TRY(check_mkfs(path, opt));
    // No famfs process may be writing the log (append lock) or have the
    // file system open (use lock) while it is formatted, and none may start
    // until it is done; a holder is named and left alone.
    std::optional<DeviceLock> append, use;
    if (access(path.c_str(), F_OK) == 0) {
        auto a = DeviceLock::acquire_exclusive(path, DeviceLock::Kind::kAppend);
        if (!a) return a.error();
        append.emplace(std::move(a.value()));
        auto u = DeviceLock::acquire_exclusive(path, DeviceLock::Kind::kUse);
        if (!u) return u.error();
        use.emplace(std::move(u.value()));
    }
    if (opt.create_size && !opt.kill) FAMFS_TRY(create_device_file(path, opt.create_size));
    auto d = open_device(path, Access::kReadWrite);
    if (!d) return d.error();
    Device& dev = **d;
    if (opt.kill) {  // zero the magic only: the rest stays for forensics
        std::memset(dev.base(), 0, sizeof omf::kSuperblockMagic);
        return dev.persist(dev.base(), sizeof omf::kSuperblockMagic);
    }
    return write_filesystem(dev, path, opt);
}

}  // namespace famfs
