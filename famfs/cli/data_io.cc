#include "data_io.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "devmem.h"
#include "famfs/test_pattern.h"

namespace famfs::cli {
namespace {

// Work in pieces that stay in the CPU cache between the store and the
// write-back, so persisting costs little more than the copy itself.
constexpr uint64_t kChunk = 256 * 1024;
// Sources up to this size are read() into a buffer and stored from there.
constexpr uint64_t kReadLimit = 1024 * 1024;
// Big copies map this much of the destination at a time.
constexpr uint64_t kWindow = 16ull << 20;

// Stores `src` (ordinary memory) at file offset `off` of `m`, whose memory
// is `dst`, in cache-sized steps, writing each step back before the next.
Status store_and_persist(Device& dev, const dax::FileMapping& m, uint64_t off, uint8_t* dst,
                         const uint8_t* src, uint64_t n) {
    for (uint64_t done = 0; done < n;) {
        const uint64_t step = std::min(kChunk, n - done);
        FAMFS_TRY(m.guarded(off + done, dst + done, step, [&] {
            std::memcpy(dst + done, src + done, step);
            return dev.persist_data(dst + done, step);
        }));
        done += step;
    }
    return {};
}

Status read_fully(int fd, const std::string& name, uint8_t* buf, uint64_t off, uint64_t len) {
    uint64_t done = 0;
    while (done < len) {
        const ssize_t n = ::pread(fd, buf + done, len - done, static_cast<off_t>(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(errno, name + ": read failed: " + std::strerror(errno));
        if (n == 0) return make_error(EIO, name + ": file shrank while being copied");
        done += static_cast<uint64_t>(n);
    }
    return {};
}

Status copy_in_small(Device& dev, int fd, const std::string& src_name, const dax::FileMapping& m,
                     uint64_t off, uint64_t len) {
    thread_local std::vector<uint8_t> buf(kReadLimit);
    FAMFS_TRY(read_fully(fd, src_name, buf.data(), off, len));
    return m.for_each_piece(off, len, [&](uint64_t o, uint8_t* p, uint64_t n) {
        return store_and_persist(dev, m, o, p, buf.data() + (o - off), n);
    });
}

// Fills the page tables for [p, p + n) in one call: a read population
// suffices (a shared mapping of memory without dirty tracking is mapped
// writable) and maps pages many at a time, at about half the cost of a
// write population and far less than a fault per page.
void populate(uint8_t* p, uint64_t n) {
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t start = reinterpret_cast<uintptr_t>(p) / page * page;
    (void)::madvise(reinterpret_cast<void*>(start), reinterpret_cast<uintptr_t>(p) + n - start,
                    MADV_POPULATE_READ);
}

// Reads [off, off + n) of the source straight into the file's memory `p`
// and persists it chunk by chunk, while the chunk is still in cache. A
// failed destination page makes read() stop short and then fail with
// EFAULT instead of raising SIGBUS.
Status read_into(Device& dev, int fd, const std::string& src_name, const dax::FileMapping& m,
                 uint64_t off, uint8_t* p, uint64_t n) {
    for (uint64_t done = 0; done < n;) {
        const uint64_t step = std::min(kChunk, n - done);
        const ssize_t got = ::pread(fd, p + done, step, static_cast<off_t>(off + done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0 && errno == EFAULT)
            return make_error(EIO, "'" + m.entry().relpath + "': memory failure at file offset " +
                                       std::to_string(off + done) + " (cannot be written)");
        if (got < 0) return make_error(errno, src_name + ": read failed: " + std::strerror(errno));
        if (got == 0) return make_error(EIO, src_name + ": file shrank while being copied");
        const uint64_t written = static_cast<uint64_t>(got);
        FAMFS_TRY(m.guarded(off + done, p + done, written,
                            [&] { return dev.persist_data(p + done, written); }));
        done += written;
    }
    return {};
}

// Big copies: the kernel reads straight into device memory, so neither the
// source needs a mapping nor the data a second copy. The destination is
// mapped a window at a time and its page tables dropped behind it, so the
// copying threads tear them down in parallel instead of the process's
// single-threaded exit.
Status copy_in_direct(Device& dev, int fd, const std::string& src_name, const dax::FileMapping& m,
                      uint64_t off, uint64_t len, const CopiedFn& copied) {
    return m.for_each_piece(off, len, [&](uint64_t o, uint8_t* p, uint64_t n) -> Status {
        for (uint64_t done = 0; done < n; done += kWindow) {
            const uint64_t w = std::min(kWindow, n - done);
            populate(p + done, w);
            Status s = read_into(dev, fd, src_name, m, o + done, p + done, w);
            dev.drop_page_tables(p + done, w);
            FAMFS_TRY(s);
            if (copied) copied(w);
        }
        return Status{};
    });
}

}  // namespace

Status write_pattern(Device& dev, const dax::FileMapping& m, uint64_t seed) {
    PatternStream stream(seed);
    std::vector<uint8_t> buf(kChunk);
    return m.for_each_piece(0, m.size(), [&](uint64_t off, uint8_t* p, uint64_t n) -> Status {
        for (uint64_t done = 0; done < n;) {
            const uint64_t step = std::min(kChunk, n - done);
            stream.generate({buf.data(), step});
            FAMFS_TRY(store_and_persist(dev, m, off + done, p + done, buf.data(), step));
            done += step;
        }
        return Status{};
    });
}

Result<std::optional<uint64_t>> find_pattern_mismatch(Device& dev, const dax::FileMapping& m,
                                                      uint64_t seed) {
    PatternStream stream(seed);
    std::vector<uint8_t> buf(kChunk);
    std::optional<uint64_t> mismatch;
    Status s = m.for_each_piece(0, m.size(), [&](uint64_t off, uint8_t* p, uint64_t n) -> Status {
        for (uint64_t done = 0; done < n && !mismatch;) {
            const uint64_t step = std::min(kChunk, n - done);
            stream.generate({buf.data(), step});
            FAMFS_TRY(m.guarded(off + done, p + done, step, [&] {
                dev.invalidate_data(p + done, step);
                if (auto d = first_difference(p + done, buf.data(), step))
                    mismatch = off + done + *d;
                return Status{};
            }));
            done += step;
        }
        return Status{};
    });
    if (!s) return s.error();
    return mismatch;
}

Status copy_in(Device& dev, int fd, const std::string& src_name, const dax::FileMapping& m,
               uint64_t off, uint64_t len, const CopiedFn& copied) {
    if (len > kReadLimit) return copy_in_direct(dev, fd, src_name, m, off, len, copied);
    FAMFS_TRY(copy_in_small(dev, fd, src_name, m, off, len));
    if (copied) copied(len);
    return {};
}

Result<std::optional<uint64_t>> first_difference_from_file(Device& dev, int fd,
                                                           const std::string& fd_name,
                                                           const dax::FileMapping& m) {
    std::vector<uint8_t> buf(std::min<uint64_t>(kReadLimit, std::max<uint64_t>(m.size(), 1)));
    std::optional<uint64_t> differs;
    for (uint64_t pos = 0; pos < m.size() && !differs;) {
        const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(pos));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(errno, fd_name + ": read failed: " + std::strerror(errno));
        if (n == 0) return make_error(EIO, fd_name + ": read() ended at " + std::to_string(pos));
        FAMFS_TRY(m.for_each_piece(
            pos, static_cast<uint64_t>(n), [&](uint64_t off, uint8_t* p, uint64_t len) {
                return m.guarded(off, p, len, [&] {
                    dev.invalidate_data(p, len);
                    auto d = first_difference(p, buf.data() + (off - pos), len);
                    if (d && !differs) differs = off + *d;
                    return Status{};
                });
            }));
        pos += static_cast<uint64_t>(n);
    }
    return differs;
}

Status persist_file(Device& dev, const dax::FileMapping& m) {
    return m.for_each_piece(0, m.size(), [&](uint64_t off, uint8_t* p, uint64_t n) {
        return m.guarded(off, p, n, [&] { return dev.persist_data(p, n); });
    });
}

}  // namespace famfs::cli
