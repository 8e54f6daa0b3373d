#include "mappings.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "famfs/memsafe.h"
#include "real_calls.h"

namespace famfs::intercept {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kAlign = 2ull << 20;

uint64_t round_up(uint64_t v, uint64_t to) {
    return (v + to - 1) / to * to;
}

// The lowest number a hold's descriptor takes: high, so a program that
// counts on open() returning the lowest free number never meets it.
int hold_floor() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < 8) return 0;
    return static_cast<int>(std::min<rlim_t>(lim.rlim_cur * 3 / 4, 768));
}

// A mapping served from the device bypasses the mount, so nothing there
// would show the server the file in use (docs/delete.md: a host's
// watermark may pass a DELETE only when no process holds the file open or
// mapped). A private duplicate of the program's descriptor keeps the
// open file description on the mount alive, as a mount's own mapping
// keeps the kernel's file, until every piece of the mapping is unmapped.
// How many holds exist: close() looks no further while there are none.
std::atomic<int> g_holds{0};

class Hold {
  public:
    Hold(int fd, FileId id) : fd_(fd), id_(id) { g_holds.fetch_add(1, std::memory_order_relaxed); }
    ~Hold() {
        g_holds.fetch_sub(1, std::memory_order_relaxed);
        // Closed only while it still refers to the file: a program that
        // closed it behind the library's back (close_range, a raw close,
        // dup2 onto it) may have reused the number for one of its own.
        FileId now;
        if (identify(fd_, &now) && now == id_) real().close(fd_);
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    int fd() const { return fd_; }

  private:
    int fd_;
    FileId id_;
};

struct Range {
    uintptr_t start = 0;
    uintptr_t end = 0;
    std::shared_ptr<ServedFile> file;
    std::shared_ptr<Hold> hold;  // shared by the pieces of one mapping
};

struct Table {
    std::mutex mu;
    std::vector<Range> ranges;  // guarded by mu
};

// Ranges taken out of the table, destroyed after its lock is let go: the
// last piece of a mapping closes its hold, and a close on the mount waits
// for the server (FLUSH), which must not stall every other mapping call.
using Dropped = std::vector<Range>;

// Takes [s, e) out of the table's ranges; with t.mu held.
void cut(Table& t, uintptr_t s, uintptr_t e, Dropped* dropped) {
    std::vector<Range> kept;
    for (auto& r : t.ranges) {
        if (r.end <= s || r.start >= e) {
            kept.push_back(std::move(r));
            continue;
        }
        if (r.start < s) kept.push_back({r.start, s, r.file, r.hold});
        if (r.end > e) kept.push_back({e, r.end, r.file, r.hold});
        dropped->push_back(std::move(r));
    }
    t.ranges = std::move(kept);
}

Table& table() {
    static Table* t = new Table;  // never destroyed: calls come during exit()
    return *t;
}

// An empty memfd: any page of a shared mapping of it raises SIGBUS.
int past_eof_fd() {
    static const int fd = memfd_create("famfs-past-eof", MFD_CLOEXEC);
    return fd;
}

// A PROT_NONE range to place the pieces into: at addr when the caller asked
// for a fixed address, else anywhere, aligned to 2 MiB.
void* reserve(void* addr, uint64_t len, int flags) {
    const int fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    const int anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    if (fixed) return real().mmap(addr, len, PROT_NONE, anon | fixed, -1, 0);
    void* raw = real().mmap(nullptr, len + kAlign, PROT_NONE, anon, -1, 0);
    if (raw == MAP_FAILED) return raw;
    const uintptr_t r = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t base = round_up(r, kAlign);
    if (base > r) real().munmap(raw, base - r);
    const uintptr_t tail = r + len + kAlign - (base + len);
    if (tail) real().munmap(reinterpret_cast<void*>(base + len), tail);
    return reinterpret_cast<void*>(base);
}

// Places the file's memory for [off, off + len) at base; 0 or an errno.
int place_pieces(const ServedFile& f, uint8_t* base, uint64_t off, uint64_t len, int prot,
                 int flags) {
    const int extra = flags & (MAP_POPULATE | MAP_NONBLOCK | MAP_LOCKED);
    const uint8_t* device = f.device().base();
    int err = 0;
    (void)f.mapping().for_each_piece(off, len, [&](uint64_t at, uint8_t* mem, uint64_t n) {
        // Pieces start on 2 MiB boundaries; the last one is rounded up to a
        // page, still inside the file's last extent.
        void* want = base + (at - off);
        void* got = real().mmap(want, round_up(n, kPage), prot, MAP_SHARED | MAP_FIXED | extra,
                                f.device_fd(), static_cast<off_t>(mem - device));
        if (got == MAP_FAILED) {
            err = errno;
            return Status(make_error(err, ""));
        }
        return Status{};
    });
    return err;
}

// Checks the devices of mapped files every 10 ms; one thread per process
// (started again in a forked child, which has none).
void watch() {
    for (;;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        std::vector<std::shared_ptr<ServedFile>> files;
        {
            Table& t = table();
            std::lock_guard lock(t.mu);
            for (const auto& r : t.ranges) files.push_back(r.file);
        }
        for (const auto& f : files) (void)f->check_device();
    }
}

void start_watcher() {
    static std::atomic<pid_t> watching{0};
    const pid_t me = getpid();
    if (watching.exchange(me) == me) return;
    std::thread(watch).detach();
}

// A new mapping at [start, end); whatever served range it replaced
// (MAP_FIXED over an earlier one) is forgotten.
void remember(uintptr_t start, uintptr_t end, const std::shared_ptr<ServedFile>& f,
              std::shared_ptr<Hold> hold) {
    Dropped dropped;
    {
        Table& t = table();
        std::lock_guard lock(t.mu);
        cut(t, start, end, &dropped);
        t.ranges.push_back({start, end, f, std::move(hold)});
    }
    start_watcher();
}

}  // namespace

MapOutcome map_file(const std::shared_ptr<ServedFile>& file, int fd, void* addr, size_t len,
                    int prot, int flags, off_t off) {
    const int type = flags & MAP_TYPE;
    if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
        return {.pass_on = "a MAP_PRIVATE mapping"};
    if (len == 0 || off < 0 || static_cast<uint64_t>(off) % kPage != 0) return {.error = EINVAL};
    // The kernel's rules for a shared file mapping.
    if (!file->readable() || ((prot & PROT_WRITE) && !file->writable())) return {.error = EACCES};
    LibraryScope scope;
    const int held = real().fcntl(fd, F_DUPFD_CLOEXEC, hold_floor());
    if (held < 0) {
        return {.pass_on = std::string("no descriptor left to hold the file open: ") +
                           std::strerror(errno)};
    }
    auto hold = std::make_shared<Hold>(held, file->id());
    const uint64_t rlen = round_up(len, kPage);
    void* base = reserve(addr, rlen, flags);
    if (base == MAP_FAILED) return {.error = errno};
    auto* b = static_cast<uint8_t*>(base);
    const uint64_t start = static_cast<uint64_t>(off);
    const uint64_t file_end = round_up(file->size(), kPage);
    const uint64_t mapped_end = std::min(start + rlen, std::max(file_end, start));
    int err =
        mapped_end > start ? place_pieces(*file, b, start, mapped_end - start, prot, flags) : 0;
    if (!err && mapped_end < start + rlen &&
        real().mmap(b + (mapped_end - start), start + rlen - mapped_end, prot,
                    MAP_SHARED | MAP_FIXED, past_eof_fd(), 0) == MAP_FAILED) {
        err = errno;
    }
    if (err) {
        real().munmap(base, rlen);
        return {.pass_on = std::string("the device refused the mapping: ") + std::strerror(err)};
    }
    remember(reinterpret_cast<uintptr_t>(b), reinterpret_cast<uintptr_t>(b) + rlen, file,
             std::move(hold));
    return {.addr = base};
}

MapOutcome map_failing(void* addr, size_t len, int prot, int flags) {
    const int type = flags & MAP_TYPE;
    if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
        return {.pass_on = "a MAP_PRIVATE mapping"};
    if (len == 0) return {.error = EINVAL};
    LibraryScope scope;
    const int fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
    void* p = real().mmap(addr, round_up(len, kPage), prot, MAP_SHARED | fixed, past_eof_fd(), 0);
    if (p == MAP_FAILED) return {.error = errno};
    return {.addr = p};
}

void forget_mappings(void* addr, size_t len) {
    const uintptr_t s = reinterpret_cast<uintptr_t>(addr);
    const uintptr_t e = s + round_up(len, kPage);
    LibraryScope scope;
    Dropped dropped;
    Table& t = table();
    std::lock_guard lock(t.mu);
    cut(t, s, e, &dropped);
    // Unlocked before `dropped` goes (declared first, destroyed last).
}

bool is_hold(int fd) {
    if (g_holds.load(std::memory_order_relaxed) == 0) return false;
    Table& t = table();
    std::lock_guard lock(t.mu);
    for (const auto& r : t.ranges) {
        if (r.hold && r.hold->fd() == fd) return true;
    }
    return false;
}

std::vector<int> holds_in(unsigned first, unsigned last) {
    std::vector<int> fds;
    Table& t = table();
    std::lock_guard lock(t.mu);
    for (const auto& r : t.ranges) {
        if (!r.hold) continue;
        const int fd = r.hold->fd();
        if (static_cast<unsigned>(fd) < first || static_cast<unsigned>(fd) > last) continue;
        if (std::find(fds.begin(), fds.end(), fd) == fds.end()) fds.push_back(fd);
    }
    std::sort(fds.begin(), fds.end());
    return fds;
}

bool sync_mappings(void* addr, size_t len, int flags, int* err) {
    const uintptr_t s = reinterpret_cast<uintptr_t>(addr);
    const uintptr_t e = s + len;
    std::vector<Range> hit;
    {
        Table& t = table();
        std::lock_guard lock(t.mu);
        for (const auto& r : t.ranges) {
            if (r.end > s && r.start < e) hit.push_back(r);
        }
    }
    *err = 0;
    for (const auto& r : hit) {
        const auto* p = reinterpret_cast<const uint8_t*>(std::max(r.start, s));
        const size_t n = std::min(r.end, e) - reinterpret_cast<uintptr_t>(p);
        Status st = memsafe::guarded(p, n, [&] {
            if (flags & MS_INVALIDATE) {
                r.file->device().invalidate_data(p, n);
            } else {
                (void)r.file->device().persist_data(p, n);
            }
        });
        if (!st) *err = EIO;
    }
    return !hit.empty();
}

void revoke_mappings(const ServedFile* file) {
    LibraryScope scope;
    Table& t = table();
    std::lock_guard lock(t.mu);
    for (const auto& r : t.ranges) {
        if (r.file.get() != file) continue;
        // Keeps the range's protection out of the picture: PROT_READ is
        // enough to fault, and the fault is SIGBUS whatever the access.
        real().mmap(reinterpret_cast<void*>(r.start), r.end - r.start, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_FIXED, past_eof_fd(), 0);
    }
}

void lock_mappings_for_fork() {
    table().mu.lock();
}

void unlock_mappings_after_fork() {
    table().mu.unlock();
}

bool holds_mapping(void* addr, size_t len) {
    const uintptr_t s = reinterpret_cast<uintptr_t>(addr);
    Table& t = table();
    std::lock_guard lock(t.mu);
    for (const auto& r : t.ranges) {
        if (r.end > s && r.start < s + len) return true;
    }
    return false;
}

}  // namespace famfs::intercept
