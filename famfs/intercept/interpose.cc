// The C library functions this library stands in for. Each one either
// serves a famfs file it knows (fd_table.h) from the device's memory, or
// calls the C library's own function (real_calls.h) unchanged. File
// positions stay in the kernel (read() and write() move them with lseek),
// so they are right across dup(), fork() and exec() whatever serves the
// next call.
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "devices.h"
#include "fd_table.h"
#include "mappings.h"
#include "real_calls.h"
#include "report.h"
#include "served_file.h"

using famfs::intercept::Call;
using famfs::intercept::FdTable;
using famfs::intercept::ServedFile;
namespace ic = famfs::intercept;

#define FAMFS_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

bool g_enabled = false;  // set by the constructor; famfs_fused itself is never served

bool passing_through() {
    return !g_enabled || ic::inside_library();
}

// A descriptor worth knowing: a regular file on a file system without a
// block device (FUSE, among others), not an O_PATH handle.
void consider(int fd, int flags, const char* path) {
    if (fd < 0 || (flags & O_PATH)) return;
    ic::FileId id;
    mode_t type = 0;
    if (!ic::identify(fd, &id, &type) || type != S_IFREG || major(id.dev) != 0) return;
    if (ic::known_not_famfs(id.dev)) return;
    ic::LibraryScope scope;
    FdTable::instance().put(fd, std::make_shared<ServedFile>(id, flags, path ? path : "?"));
}

int opened(int fd, int flags, const char* path) {
    if (fd >= 0 && !passing_through()) {
        consider(fd, flags, path);
    }
    return fd;
}

ssize_t errno_result(ssize_t r) {
    if (r >= 0) return r;
    errno = static_cast<int>(-r);
    return -1;
}

// Runs served(file) for a famfs file the library serves, pass() otherwise.
template <class Served, class Pass>
auto with_file(int fd, Call call, bool writes, Served&& served, Pass&& pass) -> decltype(pass()) {
    if (passing_through()) return pass();
    auto f = FdTable::instance().lookup(fd);
    if (!f) {
        ic::count_other();
        return pass();
    }
    const auto d = writes ? f->prepare_write(fd) : f->prepare(fd);
    if (d.verdict == ServedFile::Verdict::kNotFamfs) {
        FdTable::instance().drop(fd);
        ic::count_other();
        return pass();
    }
    if (d.verdict == ServedFile::Verdict::kPassOn) {
        ic::count_passed(call);
        return pass();
    }
    ic::count_served(call);
    if (d.verdict == ServedFile::Verdict::kFail) {
        errno = d.error;
        return -1;
    }
    return served(*f);
}

// Where the descriptor's position is, and moving it past what was done.
ssize_t at_position(int fd, const std::function<ssize_t(uint64_t)>& io) {
    const off_t pos = ic::real().lseek(fd, 0, SEEK_CUR);
    if (pos < 0) return -1;
    const ssize_t n = errno_result(io(static_cast<uint64_t>(pos)));
    if (n > 0) ic::real().lseek(fd, pos + n, SEEK_SET);
    return n;
}

ssize_t read_vec(const ServedFile& f, const iovec* iov, int cnt, uint64_t off) {
    if (cnt < 0 || cnt > IOV_MAX) return -EINVAL;
    ssize_t total = 0;
    for (int i = 0; i < cnt; i++) {
        const ssize_t n = f.read_at(iov[i].iov_base, iov[i].iov_len, off + total);
        if (n < 0) return total ? total : n;
        total += n;
        if (static_cast<size_t>(n) < iov[i].iov_len) break;
    }
    return total;
}

ssize_t write_vec(const ServedFile& f, const iovec* iov, int cnt, uint64_t off) {
    if (cnt < 0 || cnt > IOV_MAX) return -EINVAL;
    ssize_t total = 0;
    for (int i = 0; i < cnt; i++) {
        if (iov[i].iov_len == 0) continue;
        const ssize_t n = f.write_at(iov[i].iov_base, iov[i].iov_len, off + total);
        if (n < 0) return total ? total : n;
        total += n;
        if (static_cast<size_t>(n) < iov[i].iov_len) break;
    }
    return total;
}

mode_t mode_arg(int flags, va_list ap) {
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

// Descriptors inherited across exec(): adopted as if opened here.
void adopt_inherited() {
    DIR* d = opendir("/proc/self/fd");
    if (!d) return;
    const int own = dirfd(d);
    while (dirent* e = readdir(d)) {
        const int fd = std::atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == own) continue;
        const int flags = ic::real().fcntl(fd, F_GETFL);
        char path[4096];
        const std::string link = "/proc/self/fd/" + std::string(e->d_name);
        const ssize_t n = readlink(link.c_str(), path, sizeof path - 1);
        path[n > 0 ? n : 0] = '\0';
        if (flags >= 0) consider(fd, flags, path);
    }
    closedir(d);
}

// The library's tables are taken across fork(), so a child of a threaded
// program never inherits one locked by a thread it does not have. None of
// these locks is taken while another of them is held.
void before_fork() {
    FdTable::instance().lock();
    ic::lock_mappings_for_fork();
    ic::lock_devices_for_fork();
    ic::lock_report_for_fork();
}

void after_fork() {
    ic::unlock_report_after_fork();
    ic::unlock_devices_after_fork();
    ic::unlock_mappings_after_fork();
    FdTable::instance().unlock();
}

__attribute__((constructor)) void start() {
    (void)ic::real();
    if (std::strcmp(program_invocation_short_name, "famfs_fused") == 0) return;
    ic::init_report();
    pthread_atfork(before_fork, after_fork, after_fork);
    {
        ic::LibraryScope scope;
        adopt_inherited();
    }
    g_enabled = true;
}

}  // namespace

// ---- opening: the mount opens; the library notes famfs files ----

FAMFS_EXPORT int open(const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(ic::real().open(path, flags, mode), flags, path);
}

FAMFS_EXPORT int open64(const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(ic::real().open(path, flags, mode), flags, path);
}

FAMFS_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(ic::real().openat(dirfd, path, flags, mode), flags, path);
}

FAMFS_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    const mode_t mode = mode_arg(flags, ap);
    va_end(ap);
    return opened(ic::real().openat(dirfd, path, flags, mode), flags, path);
}

FAMFS_EXPORT int creat(const char* path, mode_t mode) {
    const int flags = O_CREAT | O_WRONLY | O_TRUNC;
    return opened(ic::real().open(path, flags, mode), flags, path);
}

FAMFS_EXPORT int creat64(const char* path, mode_t mode) {
    return creat(path, mode);
}

// What _FORTIFY_SOURCE builds call instead of open() and openat().
FAMFS_EXPORT int __open_2(const char* path, int flags) {
    return opened(ic::real().open(path, flags), flags, path);
}
FAMFS_EXPORT int __open64_2(const char* path, int flags) {
    return __open_2(path, flags);
}
FAMFS_EXPORT int __openat_2(int dirfd, const char* path, int flags) {
    return opened(ic::real().openat(dirfd, path, flags), flags, path);
}
FAMFS_EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
    return __openat_2(dirfd, path, flags);
}

// ---- reading and writing ----

FAMFS_EXPORT ssize_t pread(int fd, void* buf, size_t n, off_t off) {
    return with_file(
        fd, Call::kPread, false,
        [&](const ServedFile& f) {
            return off < 0 ? errno_result(-EINVAL) : errno_result(f.read_at(buf, n, off));
        },
        [&] { return ic::real().pread(fd, buf, n, off); });
}
FAMFS_EXPORT ssize_t pread64(int fd, void* buf, size_t n, off_t off) {
    return pread(fd, buf, n, off);
}

FAMFS_EXPORT ssize_t read(int fd, void* buf, size_t n) {
    return with_file(
        fd, Call::kRead, false,
        [&](const ServedFile& f) {
            return at_position(fd, [&](uint64_t pos) { return f.read_at(buf, n, pos); });
        },
        [&] { return ic::real().read(fd, buf, n); });
}

FAMFS_EXPORT ssize_t preadv(int fd, const iovec* iov, int cnt, off_t off) {
    return with_file(
        fd, Call::kPreadv, false,
        [&](const ServedFile& f) {
            return off < 0 ? errno_result(-EINVAL) : errno_result(read_vec(f, iov, cnt, off));
        },
        [&] { return ic::real().preadv(fd, iov, cnt, off); });
}
FAMFS_EXPORT ssize_t preadv64(int fd, const iovec* iov, int cnt, off_t off) {
    return preadv(fd, iov, cnt, off);
}

FAMFS_EXPORT ssize_t readv(int fd, const iovec* iov, int cnt) {
    return with_file(
        fd, Call::kReadv, false,
        [&](const ServedFile& f) {
            return at_position(fd, [&](uint64_t pos) { return read_vec(f, iov, cnt, pos); });
        },
        [&] { return ic::real().readv(fd, iov, cnt); });
}

FAMFS_EXPORT ssize_t pwrite(int fd, const void* buf, size_t n, off_t off) {
    return with_file(
        fd, Call::kPwrite, true,
        [&](const ServedFile& f) {
            return off < 0 ? errno_result(-EINVAL) : errno_result(f.write_at(buf, n, off));
        },
        [&] { return ic::real().pwrite(fd, buf, n, off); });
}
FAMFS_EXPORT ssize_t pwrite64(int fd, const void* buf, size_t n, off_t off) {
    return pwrite(fd, buf, n, off);
}

FAMFS_EXPORT ssize_t write(int fd, const void* buf, size_t n) {
    return with_file(
        fd, Call::kWrite, true,
        [&](const ServedFile& f) {
            return at_position(fd, [&](uint64_t pos) { return f.write_at(buf, n, pos); });
        },
        [&] { return ic::real().write(fd, buf, n); });
}

FAMFS_EXPORT ssize_t pwritev(int fd, const iovec* iov, int cnt, off_t off) {
    return with_file(
        fd, Call::kPwritev, true,
        [&](const ServedFile& f) {
            return off < 0 ? errno_result(-EINVAL) : errno_result(write_vec(f, iov, cnt, off));
        },
        [&] { return ic::real().pwritev(fd, iov, cnt, off); });
}
FAMFS_EXPORT ssize_t pwritev64(int fd, const iovec* iov, int cnt, off_t off) {
    return pwritev(fd, iov, cnt, off);
}

FAMFS_EXPORT ssize_t writev(int fd, const iovec* iov, int cnt) {
    return with_file(
        fd, Call::kWritev, true,
        [&](const ServedFile& f) {
            return at_position(fd, [&](uint64_t pos) { return write_vec(f, iov, cnt, pos); });
        },
        [&] { return ic::real().writev(fd, iov, cnt); });
}

// ---- position, attributes, durability ----

// SEEK_SET and SEEK_CUR are the kernel's; the file's size answers the rest
// without asking the server (files never change size).
FAMFS_EXPORT off_t lseek(int fd, off_t off, int whence) noexcept {
    return with_file(
        fd, Call::kLseek, false,
        [&](const ServedFile& f) -> off_t {
            const auto size = static_cast<off_t>(f.size());
            switch (whence) {
                case SEEK_END:
                    return ic::real().lseek(fd, size + off, SEEK_SET);
                case SEEK_DATA:
                case SEEK_HOLE:
                    if (off < 0 || off >= size) return errno_result(off < 0 ? -EINVAL : -ENXIO);
                    return ic::real().lseek(fd, whence == SEEK_DATA ? off : size, SEEK_SET);
                default:
                    return ic::real().lseek(fd, off, whence);
            }
        },
        [&] { return ic::real().lseek(fd, off, whence); });
}
FAMFS_EXPORT off_t lseek64(int fd, off_t off, int whence) noexcept {
    return lseek(fd, off, whence);
}

// The kernel's cached attributes (no request to the server) and the size
// of the map.
FAMFS_EXPORT int fstat(int fd, struct stat* st) noexcept {
    return with_file(
        fd, Call::kFstat, false,
        [&](const ServedFile& f) {
            struct statx sx {};
            if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx) != 0) {
                return -1;
            }
            *st = {};
            st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
            st->st_ino = sx.stx_ino;
            st->st_mode = sx.stx_mode;
            st->st_nlink = sx.stx_nlink;
            st->st_uid = sx.stx_uid;
            st->st_gid = sx.stx_gid;
            st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
            st->st_size = static_cast<off_t>(f.size());
            st->st_blksize = sx.stx_blksize;
            st->st_blocks = static_cast<blkcnt_t>(sx.stx_blocks);
            st->st_atim = {sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec};
            st->st_mtim = {sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec};
            st->st_ctim = {sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec};
            return 0;
        },
        [&] { return ic::real().fstat(fd, st); });
}
FAMFS_EXPORT int fstat64(int fd, struct stat64* st) noexcept {
    static_assert(sizeof(struct stat64) == sizeof(struct stat));
    return fstat(fd, reinterpret_cast<struct stat*>(st));
}

FAMFS_EXPORT int fsync(int fd) {
    return with_file(
        fd, Call::kFsync, false,
        [&](const ServedFile& f) { return static_cast<int>(errno_result(-f.persist_all())); },
        [&] { return ic::real().fsync(fd); });
}

FAMFS_EXPORT int fdatasync(int fd) {
    return with_file(
        fd, Call::kFdatasync, false,
        [&](const ServedFile& f) { return static_cast<int>(errno_result(-f.persist_all())); },
        [&] { return ic::real().fdatasync(fd); });
}

// ---- mappings ----

FAMFS_EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) noexcept {
    auto pass = [&] {
        void* p = ic::real().mmap(addr, len, prot, flags, fd, off);
        // A mapping put over a served one replaces it: its hold may go.
        if (p != MAP_FAILED && (flags & MAP_FIXED) && !passing_through() &&
            ic::holds_mapping(p, len)) {
            ic::forget_mappings(p, len);
        }
        return p;
    };
    if (passing_through() || (flags & MAP_ANONYMOUS)) return pass();
    auto f = FdTable::instance().lookup(fd);
    if (!f) return pass();
    const auto d = f->prepare(fd);
    if (d.verdict == ServedFile::Verdict::kNotFamfs) {
        FdTable::instance().drop(fd);
        return pass();
    }
    if (d.verdict == ServedFile::Verdict::kPassOn) {
        ic::count_passed(Call::kMmap);
        return pass();
    }
    auto m = d.verdict == ServedFile::Verdict::kFail
                 ? ic::map_failing(addr, len, prot, flags)
                 : ic::map_file(f, fd, addr, len, prot, flags, off);
    if (!m.pass_on.empty()) {
        ic::note_fallback(f->name() + ": " + m.pass_on);
        ic::count_passed(Call::kMmap);
        return pass();
    }
    ic::count_served(Call::kMmap);
    if (m.error) {
        errno = m.error;
        return MAP_FAILED;
    }
    return m.addr;
}
FAMFS_EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off) noexcept {
    return mmap(addr, len, prot, flags, fd, off);
}

FAMFS_EXPORT int munmap(void* addr, size_t len) noexcept {
    const int r = ic::real().munmap(addr, len);
    if (r == 0 && !passing_through() && ic::holds_mapping(addr, len)) {
        ic::forget_mappings(addr, len);
        ic::count_served(Call::kMunmap);
    }
    return r;
}

FAMFS_EXPORT int msync(void* addr, size_t len, int flags) {
    const int r = ic::real().msync(addr, len, flags);
    if (r != 0 || passing_through()) return r;
    int err = 0;
    if (!ic::sync_mappings(addr, len, flags, &err)) return r;
    ic::count_served(Call::kMsync);
    return static_cast<int>(errno_result(-err));
}

// The device mapping carries the access the file was opened with: the
// kernel itself refuses PROT_WRITE on a file opened read-only (EACCES).
FAMFS_EXPORT int mprotect(void* addr, size_t len, int prot) noexcept {
    const int r = ic::real().mprotect(addr, len, prot);
    if (!passing_through() && ic::holds_mapping(addr, len)) ic::count_served(Call::kMprotect);
    return r;
}

// ---- descriptors ----

FAMFS_EXPORT int dup(int fd) noexcept {
    const int r = ic::real().dup(fd);
    if (r >= 0 && !passing_through()) FdTable::instance().copy(fd, r);
    return r;
}

FAMFS_EXPORT int dup2(int fd, int newfd) noexcept {
    const int r = ic::real().dup2(fd, newfd);
    if (r >= 0 && !passing_through() && fd != newfd) FdTable::instance().copy(fd, r);
    return r;
}

FAMFS_EXPORT int dup3(int fd, int newfd, int flags) noexcept {
    const int r = ic::real().dup3(fd, newfd, flags);
    if (r >= 0 && !passing_through()) FdTable::instance().copy(fd, r);
    return r;
}

FAMFS_EXPORT int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);  // every fcntl argument fits a pointer's register
    va_end(ap);
    const int r = ic::real().fcntl(fd, cmd, arg);
    if (r < 0 || passing_through()) return r;
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
        FdTable::instance().copy(fd, r);
    } else if (cmd == F_SETFL) {
        if (auto f = FdTable::instance().lookup(fd)) {
            f->set_append((reinterpret_cast<uintptr_t>(arg) & O_APPEND) != 0);
        }
    }
    return r;
}
FAMFS_EXPORT int fcntl64(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    return fcntl(fd, cmd, arg);
}

// A program closing every descriptor (daemons do) would close the
// library's holds of mapped files and, with them, the server's last sight
// of files still mapped: those stay open, the close answered as done.
FAMFS_EXPORT int close(int fd) {
    if (passing_through()) return ic::real().close(fd);
    if (ic::is_hold(fd)) return 0;
    FdTable::instance().drop(fd);
    return ic::real().close(fd);
}

// Closes [first, last] but the library's holds, in the stretches between.
static int close_around_holds(unsigned first, unsigned last, int flags) {
    unsigned from = first;
    for (const int h : ic::holds_in(first, last)) {
        const auto held = static_cast<unsigned>(h);
        if (held > from && ic::real().close_range(from, held - 1, flags) != 0) return -1;
        from = held + 1;
        if (held == last) return 0;
    }
    return ic::real().close_range(from, last, flags);
}

FAMFS_EXPORT int close_range(unsigned first, unsigned last, int flags) noexcept {
    const int r = passing_through() || first > last ? ic::real().close_range(first, last, flags)
                                                    : close_around_holds(first, last, flags);
    if (r == 0 && !passing_through() && !(flags & CLOSE_RANGE_CLOEXEC)) {
        FdTable::instance().drop_range(first, last);
    }
    return r;
}
