// File data in device memory: writing and checking the test pattern,
// copying ordinary files in, and writing CPU caches back. The data never
// passes through the page cache of a famfs mount; every touch of device
// memory goes through devmem.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "famfs/dax.h"
#include "famfs/device.h"
#include "famfs/result.h"

namespace famfs::cli {

// Fills the whole file with the test pattern of `seed` and persists it.
Status write_pattern(Device& dev, const dax::FileMapping& m, uint64_t seed);
// The first offset where the file differs from the pattern of `seed`. The
// file's cache lines are dropped first: another host may have written it.
Result<std::optional<uint64_t>> find_pattern_mismatch(Device& dev, const dax::FileMapping& m,
                                                      uint64_t seed);

// Copies bytes [off, off + len) of the open file `fd` into the same range of
// the famfs file and persists them as it goes.
Status copy_in(Device& dev, int fd, const std::string& src_name, const dax::FileMapping& m,
               uint64_t off, uint64_t len);

// Writes CPU caches back over the whole file.
Status persist_file(Device& dev, const dax::FileMapping& m);

// Calls fn(offset, pointer, length) for each memory-contiguous piece of the
// file within [off, off + len), in file order, stopping at the first error.
template <class Fn>
Status for_each_piece(const dax::FileMapping& m, uint64_t off, uint64_t len, Fn&& fn) {
    const uint64_t end = std::min(off + len, m.size());
    while (off < end) {
        uint64_t contiguous = 0;
        uint8_t* p = m.address(off, &contiguous);
        if (p == nullptr || contiguous == 0) {
            return make_error(EIO, "no memory mapped at file offset " + std::to_string(off));
        }
        const uint64_t n = std::min(contiguous, end - off);
        if (Status s = fn(off, p, n); !s) {
            return make_error(s.error().code,
                              "at file offset " + std::to_string(off) + "+: " + s.error().message);
        }
        off += n;
    }
    return {};
}

}  // namespace famfs::cli
