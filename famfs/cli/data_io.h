// File data in device memory: writing and checking the test pattern,
// copying ordinary files in, and writing CPU caches back. The data never
// passes through the page cache of a famfs mount; every touch of device
// memory runs inside dax::FileMapping::guarded(), so failed memory is an
// error naming the file and offset, never a crash.
#pragma once

#include <cstdint>
#include <functional>
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
// the famfs file and persists them as it goes; `copied` (if set) hears of
// every few MiB done, for a progress display.
using CopiedFn = std::function<void(uint64_t bytes)>;
Status copy_in(Device& dev, int fd, const std::string& src_name, const dax::FileMapping& m,
               uint64_t off, uint64_t len, const CopiedFn& copied = {});

// The first offset where the famfs file differs from what read() of the
// open file `fd` returns (a read error, or `fd` ending early, is an error
// naming `fd_name`). The famfs file's cache lines are dropped first.
Result<std::optional<uint64_t>> first_difference_from_file(Device& dev, int fd,
                                                           const std::string& fd_name,
                                                           const dax::FileMapping& m);

// Writes CPU caches back over the whole file.
Status persist_file(Device& dev, const dax::FileMapping& m);

}  // namespace famfs::cli
