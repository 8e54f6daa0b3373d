#include "served_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "devices.h"
#include "famfs/memsafe.h"
#include "mappings.h"
#include "real_calls.h"
#include "report.h"

namespace famfs::intercept {

namespace {

int64_t coarse_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The server's map of the file `fd` refers to, or the errno it answered.
Result<FileMapRecord> fetch_map(int fd) {
    // A record is ~600 bytes and a path; XATTR_SIZE_MAX bounds any answer.
    thread_local std::vector<uint8_t> buf(64 * 1024);
    const ssize_t n = fgetxattr(fd, kFileMapXattr, buf.data(), buf.size());
    if (n < 0) return make_error(errno, std::strerror(errno));
    return decode_file_map(std::span(buf.data(), static_cast<size_t>(n)));
}

struct NotFamfs {
    std::mutex mu;
    std::vector<dev_t> devs;  // guarded by mu; a handful at most
};

NotFamfs& not_famfs() {
    static NotFamfs* n = new NotFamfs;  // never destroyed: calls come during exit()
    return *n;
}

void remember_not_famfs(dev_t dev) {
    std::lock_guard lock(not_famfs().mu);
    not_famfs().devs.push_back(dev);
}

// Asked only when a file has no map: statfs of a FUSE file is a request to
// its server.
bool on_fuse(int fd) {
    constexpr long kFuseSuperMagic = 0x65735546;
    struct statfs sf {};
    return fstatfs(fd, &sf) == 0 && sf.f_type == kFuseSuperMagic;
}

}  // namespace

bool known_not_famfs(dev_t dev) {
    std::lock_guard lock(not_famfs().mu);
    const auto& d = not_famfs().devs;
    return std::find(d.begin(), d.end(), dev) != d.end();
}

bool identify(int fd, FileId* id, mode_t* type) {
    struct statx sx {};
    if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, &sx) != 0) {
        return false;
    }
    id->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
    id->ino = sx.stx_ino;
    if (type) *type = sx.stx_mode & S_IFMT;
    return true;
}

ServedFile::ServedFile(FileId id, int open_flags, std::string name)
    : id_(id),
      name_(std::move(name)),
      readable_((open_flags & O_ACCMODE) != O_WRONLY),
      writable_((open_flags & O_ACCMODE) != O_RDONLY),
      append_((open_flags & O_APPEND) != 0) {}

ServedFile::Decision ServedFile::prepare(int fd) {
    State s = state_.load(std::memory_order_acquire);
    if (s == State::kUnresolved) {
        resolve(fd);
        s = state_.load(std::memory_order_acquire);
    } else if (s == State::kServed && epoch_ &&
               epoch_->load(std::memory_order_acquire) != seen_epoch_.load()) {
        recheck(fd, /*wait=*/true);
        s = state_.load(std::memory_order_acquire);
    } else if (s == State::kServed &&
               coarse_now_ns() >= next_check_ns_.load(std::memory_order_relaxed)) {
        recheck(fd, /*wait=*/false);
        s = state_.load(std::memory_order_acquire);
    }
    if (s == State::kServed && !check_device()) s = State::kFailed;
    switch (s) {
        case State::kServed:
            return {Verdict::kServe};
        case State::kFailed:
            return {Verdict::kFail, error_.load()};
        case State::kNotFamfs:
            return {Verdict::kNotFamfs};
        default:
            return {Verdict::kPassOn};
    }
}

ServedFile::Decision ServedFile::prepare_write(int fd) {
    if (append_.load(std::memory_order_relaxed)) {
        note_fallback(name_ + ": open in O_APPEND mode");
        return {Verdict::kPassOn};
    }
    return prepare(fd);
}

void ServedFile::pass_on(const std::string& why) {
    note_fallback(name_ + ": " + why);
    count_passed(Call::kOpen);
    state_.store(State::kPassOn, std::memory_order_release);
}

// Its mappings go too: touching them raises SIGBUS, as a stale mount's do.
void ServedFile::fail(int err) {
    error_.store(err);
    if (state_.exchange(State::kFailed) == State::kServed) revoke_mappings(this);
}

bool ServedFile::check_device() {
    if (state_.load(std::memory_order_acquire) != State::kServed) return false;
    if (device_still_holds_file_system()) return true;
    fail(ESTALE);
    return false;
}

Result<FileMapRecord> ServedFile::fetch_current(int fd) {
    for (int attempt = 0;; attempt++) {
        const uint64_t before = epoch_ ? epoch_->load(std::memory_order_acquire) : 0;
        auto record = fetch_map(fd);
        if (!record) return record;
        if (!epoch_) epoch_ = map_epoch_page(record->epoch_path);
        if (!epoch_) return record;
        const uint64_t after = epoch_->load(std::memory_order_acquire);
        // A first fetch had no epoch to compare with: fetch again.
        if ((attempt > 0 && before == after) || attempt == 3) {
            seen_epoch_.store(after);
            return record;
        }
    }
}

void ServedFile::resolve(int fd) {
    LibraryScope scope;
    std::lock_guard lock(mu_);
    if (state_.load() != State::kUnresolved) return;
    auto record = fetch_current(fd);
    if (!record) {
        const int err = record.error().code;
        // No user attributes at all, or (tmpfs since Linux 6.6 has them)
        // none of ours on a file system that is not FUSE: not famfs.
        if (err == ENOTSUP || (err == ENODATA && !on_fuse(fd))) {
            remember_not_famfs(id_.dev);
            state_.store(State::kNotFamfs, std::memory_order_release);
            return;
        }
        pass_on(err == ENODATA
                    ? std::string("the server gives no map (a .meta file, or not famfs_fused)")
                    : "no map: " + record.error().message);
        return;
    }
    const Access access = writable_ ? Access::kReadWrite : Access::kReadOnly;
    auto dev = open_famfs_device(record->device_path, access, record->fs_uuid);
    if (!dev) {
        pass_on("device " + dev.error().message);
        return;
    }
    auto mapping = dax::FileMapping::from_entry(dev->device, record->file);
    if (!mapping) {
        pass_on("map refused: " + mapping.error().message);
        return;
    }
    record_ = std::move(*record);
    device_ = dev->device;
    device_fd_ = dev->fd;
    mapping_ = std::move(*mapping);
    count_served(Call::kOpen);
    next_check_ns_.store(coarse_now_ns() + std::chrono::nanoseconds(kRecheck).count());
    state_.store(State::kServed, std::memory_order_release);
}

void ServedFile::recheck(int fd, bool wait) {
    LibraryScope scope;
    std::unique_lock lock(mu_, std::defer_lock);
    if (wait) {
        lock.lock();
        if (state_.load() != State::kServed) return;
    } else if (!lock.try_lock()) {
        return;  // another thread is asking the server already
    }
    auto record = fetch_current(fd);
    if (!record) {
        // The server's answer to a read now (ESTALE: re-formatted; EIO: failed).
        fail(record.error().code == EINVAL ? ESTALE : record.error().code);
        return;
    }
    if (!(*record == record_)) {
        fail(ESTALE);  // the file system or the file changed under the descriptor
        return;
    }
    next_check_ns_.store(coarse_now_ns() + std::chrono::nanoseconds(kRecheck).count());
}

bool ServedFile::device_still_holds_file_system() const {
    const auto now = read_fs_uuid(*device_);
    return now && *now == record_.fs_uuid;
}

// Reads go to memory another host may have written: the lines are
// dropped from this CPU's cache first (a no-op on host-local memory), as
// the server does before a read reply.
ssize_t ServedFile::read_at(void* buf, size_t n, uint64_t off) const {
    if (!readable_) return -EBADF;
    auto* out = static_cast<uint8_t*>(buf);
    Status st = mapping_.for_each_piece(off, n, [&](uint64_t at, uint8_t* mem, uint64_t len) {
        return memsafe::guarded(mem, len, [&] {
            device_->invalidate_data(mem, len);
            std::memcpy(out + (at - off), mem, len);
        });
    });
    if (!st) return -EIO;
    return static_cast<ssize_t>(off < size() ? std::min<uint64_t>(n, size() - off) : 0);
}

// Files never grow: at or past the end is EFBIG, as through the mount; a
// write that crosses the end stores what fits. Caches are written back
// before returning, so the bytes are in shared memory when write() returns.
ssize_t ServedFile::write_at(const void* buf, size_t n, uint64_t off) const {
    if (!writable_) return -EBADF;
    if (n == 0) return 0;
    if (off >= size()) return -EFBIG;
    const auto* in = static_cast<const uint8_t*>(buf);
    int err = 0;
    Status st = mapping_.for_each_piece(off, n, [&](uint64_t at, uint8_t* mem, uint64_t len) {
        return memsafe::guarded(mem, len, [&] {
            std::memcpy(mem, in + (at - off), len);
            if (auto p = device_->persist_data(mem, len); !p && !err) err = p.error().code;
        });
    });
    if (!st) return -EIO;
    if (err) return -err;
    return static_cast<ssize_t>(std::min<uint64_t>(n, size() - off));
}

int ServedFile::persist_all() const {
    int err = 0;
    Status st = mapping_.for_each_piece(0, size(), [&](uint64_t, uint8_t* mem, uint64_t len) {
        return memsafe::guarded(mem, len, [&] {
            if (auto p = device_->persist_data(mem, len); !p && !err) err = p.error().code;
        });
    });
    return st ? err : EIO;
}

}  // namespace famfs::intercept
