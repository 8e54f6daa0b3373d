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

Status persist_piece(Device& dev, const uint8_t* p, uint64_t n) {
    return dev.persist(p, n);
}

// Stores `src` (ordinary memory) at device address `dst` in cache-sized
// steps, writing each step back before the next.
Status store_and_persist(Device& dev, uint8_t* dst, const uint8_t* src, uint64_t n) {
    for (uint64_t done = 0; done < n;) {
        const uint64_t step = std::min(kChunk, n - done);
        FAMFS_TRY(copy_memory(dst + done, src + done, step));
        FAMFS_TRY(persist_piece(dev, dst + done, step));
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
    return for_each_piece(m, off, len, [&](uint64_t o, uint8_t* p, uint64_t n) -> Status {
        return store_and_persist(dev, p, buf.data() + (o - off), n);
    });
}

// Big copies: the kernel reads straight into device memory, so neither the
// source needs a mapping nor the data a second copy. The destination's page
// tables are filled in one call first: a read population suffices (a shared
// mapping of memory without dirty tracking is mapped writable) and maps
// pages many at a time, at about half the cost of a write population. A
// poisoned destination makes read() fail with EFAULT instead of SIGBUS.
Status copy_in_direct(Device& dev, int fd, const std::string& src_name, const dax::FileMapping& m,
                      uint64_t off, uint64_t len) {
    const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    return for_each_piece(m, off, len, [&](uint64_t o, uint8_t* p, uint64_t n) -> Status {
        const uintptr_t start = reinterpret_cast<uintptr_t>(p) / page * page;
        (void)::madvise(reinterpret_cast<void*>(start), reinterpret_cast<uintptr_t>(p) + n - start,
                        MADV_POPULATE_READ);
        for (uint64_t done = 0; done < n;) {
            const uint64_t step = std::min(kChunk, n - done);
            FAMFS_TRY(read_fully(fd, src_name, p + done, o + done, step));
            FAMFS_TRY(persist_piece(dev, p + done, step));
            done += step;
        }
        return Status{};
    });
}

}  // namespace

Status write_pattern(Device& dev, const dax::FileMapping& m, uint64_t seed) {
    PatternStream stream(seed);
    std::vector<uint8_t> buf(kChunk);
    return for_each_piece(m, 0, m.size(), [&](uint64_t, uint8_t* p, uint64_t n) -> Status {
        for (uint64_t done = 0; done < n;) {
            const uint64_t step = std::min(kChunk, n - done);
            stream.generate({buf.data(), step});
            FAMFS_TRY(store_and_persist(dev, p + done, buf.data(), step));
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
    Status s = for_each_piece(m, 0, m.size(), [&](uint64_t off, uint8_t* p, uint64_t n) -> Status {
        for (uint64_t done = 0; done < n && !mismatch;) {
            const uint64_t step = std::min(kChunk, n - done);
            stream.generate({buf.data(), step});
            dev.invalidate(p + done, step);
            auto diff = compare_memory(p + done, buf.data(), step);
            if (!diff) return Status(diff.error());
            if (*diff) mismatch = off + done + **diff;
            done += step;
        }
        return Status{};
    });
    if (!s) return s.error();
    return mismatch;
}

Status copy_in(Device& dev, int fd, const std::string& src_name, const dax::FileMapping& m,
               uint64_t off, uint64_t len) {
    if (len <= kReadLimit) return copy_in_small(dev, fd, src_name, m, off, len);
    return copy_in_direct(dev, fd, src_name, m, off, len);
}

Status persist_file(Device& dev, const dax::FileMapping& m) {
    return for_each_piece(m, 0, m.size(), [&](uint64_t, uint8_t* p, uint64_t n) -> Status {
        return persist_piece(dev, p, n);
    });
}

}  // namespace famfs::cli
