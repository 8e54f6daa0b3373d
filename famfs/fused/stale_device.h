// Stale device detection. Another host may re-format the device (mkfs.famfs
// -f after unmounting there) while this host still serves the file system it
// mounted: the old tree's extents would then name the new file system's
// bytes. The server keeps the bytes that identify what it mounted (the whole
// superblock and the fixed part of the log header) and compares them with
// what the device holds now; any difference, or a next_index lower than one
// already seen, means the device holds something else. From then on the
// mount serves nothing of it (server.h: device_changed()).
//
// Only mkfs writes the superblock and the fixed part of the log header
// (magic, log_len, last_index, CRC), and appends only raise next_index, so a
// difference is never a false alarm on a healthy file system. mkfs draws a
// fresh fs_uuid, so a re-formatted superblock differs even when every other
// field is the same.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "famfs/omf.h"

namespace famfs::fused {

// The log header's bytes that never change while a file system lives:
// magic, log_len, last_index and their CRC (next_seqnum and next_index follow).
inline constexpr size_t kLogHeaderFixedBytes = 32;
static_assert(kLogHeaderFixedBytes < omf::kLogHeaderBytes);

// What the device held at mount time.
struct DeviceIdentity {
    std::array<uint8_t, omf::kSuperblockBytes> superblock{};
    std::array<uint8_t, kLogHeaderFixedBytes> log_header{};

    // From the first 200 bytes of the device and the 48-byte log header.
    static DeviceIdentity from(std::span<const uint8_t> superblock,
                               std::span<const uint8_t> log_header);
    omf::Uuid fs_uuid() const;
};

// How the device differs from what was mounted.
struct Staleness {
    // kEvicted: the device is unchanged but the master took this host's
    // slot of the host table (docs/delete.md): it may not touch file memory.
    enum class Cause { kSuperblock, kLogHeader, kNextIndexBack, kEvicted };
    Cause cause = Cause::kSuperblock;
    // What changed, for .meta/.status: "the superblock changed (fs_uuid ...)".
    std::string what;
    // The fs_uuid the device holds now, when it holds a valid superblock.
    std::optional<omf::Uuid> new_fs_uuid;
    // What the device holds now: "fs_uuid <uuid>" or why it holds no file
    // system ("no famfs superblock (bad magic)").
    std::string now;
};

// Compares the device's superblock (200 bytes) and log header (48 bytes),
// read just now, with what was mounted. Under the mounted superblock, a log
// header that fails its own checks (magic, CRC, length, next_index) is not
// a change (a coherent header of another length is): it is reported as a
// log header error elsewhere, as before. `floor`: a next_index the
// caller itself read earlier from the same device (only a reader that compares with its own earlier
// reading may conclude that next_index went back; several threads reading concurrently would not).
// nullopt while the device still holds the mounted file system.
std::optional<Staleness> compare_identity(const DeviceIdentity& mounted,
                                          std::span<const uint8_t> superblock_now,
                                          std::span<const uint8_t> log_header_now,
                                          std::optional<uint64_t> floor);

// The log header's next_index (bytes 40..47).
uint64_t header_next_index(std::span<const uint8_t> log_header);

}  // namespace famfs::fused
