// A file's map as the server hands it out: the value of the extended
// attribute "user.famfs.map" on a regular file of a mount (docs/format.md,
// "The map attribute"). The interception library reads it from the file it
// opened through the mount, so the kernel's permission checks and the
// server's refusals have already applied, and maps the file's memory
// itself. Layout, little-endian:
//   "FAMFSMAP" | u32 version | u32 flags | fs UUID (16) | u64 device size |
//   u32 path length | device path | u32 path length | epoch page path |
//   u32 entry length | the file's log entry
// The log entry is the 544-byte slot of docs/format.md (its CRC checked on
// decoding), so the extents travel in the one encoding famfs already has.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs {

inline constexpr char kFileMapXattr[] = "user.famfs.map";

struct FileMapRecord {
    static constexpr uint32_t kVersion = 1;
    // The device is a file in a RAM file system: its page cache is the
    // memory and cache maintenance changes nothing (Device::host_local_memory).
    static constexpr uint32_t kHostLocalMemory = 1u << 0;

    uint32_t flags = 0;
    omf::Uuid fs_uuid{};  // which file system the map belongs to
    uint64_t device_size = 0;
    std::string device_path;
    // The server's epoch page (a small file any process may map; empty
    // when the server has none): a counter it moves whenever its answer for
    // files already open may have changed (poison found, device failed or
    // re-formatted), so the library asks again at once.
    std::string epoch_path;
    omf::FileEntry file;

    bool host_local() const { return (flags & kHostLocalMemory) != 0; }
    bool operator==(const FileMapRecord&) const = default;
};

std::vector<uint8_t> encode_file_map(const FileMapRecord& record);
// Refuses a record that is truncated, of another version, whose entry fails
// its CRC, or whose extents leave the device: EINVAL naming the reason.
Result<FileMapRecord> decode_file_map(std::span<const uint8_t> bytes);

}  // namespace famfs
