// The famfs on-media format (OMF 2.2), as specified in docs/format.md.
// Pure functions over bytes: no I/O, no allocation of device space. Every
// field is encoded explicitly at its documented offset (little-endian), so
// the layout never depends on the compiler's struct packing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "famfs/result.h"

namespace famfs::omf {

inline constexpr uint64_t kKiB = 1024, kMiB = 1024 * kKiB, kGiB = 1024 * kMiB;

// Device layout.
inline constexpr uint64_t kSuperblockMagic = 0x87b282ff;
inline constexpr uint64_t kSuperblockVersion = 48;
inline constexpr uint64_t kSuperblockVersionOld = 47;
// A file system on which something was deleted (docs/delete.md): the
// reference accepts only 48, so it refuses such a device instead of
// misreading its DELETE entries.
inline constexpr uint64_t kSuperblockVersionDeletes = 49;
inline constexpr uint32_t kOmfMinorDeletes = 3;
inline constexpr uint64_t kSuperblockRegion = 2 * kMiB;
// Where the superblock holds the file system's UUID: what tells one
// formatting of a device from the next (docs/format.md).
inline constexpr size_t kSuperblockFsUuidOffset = 48;
inline constexpr uint64_t kSuperblockBytes = 200;
inline constexpr uint64_t kLogOffset = 2 * kMiB;
inline constexpr uint64_t kMinLogLen = 8 * kMiB;
inline constexpr uint64_t kAllocUnit = 2 * kMiB;
inline constexpr uint64_t kSmallAllocUnit = 4 * kKiB;
inline constexpr uint32_t kOmfMajor = 2, kOmfMinor = 2;
inline constexpr uint64_t kMinDeviceSize = 4 * kGiB;  // what the reference mkfs accepts

// Log layout.
inline constexpr uint64_t kLogMagic = 0x00000badcafef00dULL;
inline constexpr uint64_t kLogHeaderBytes = 48;
inline constexpr uint64_t kEntryBytes = 544;
inline constexpr size_t kRelpathBytes = 80;  // including the terminating NUL
inline constexpr size_t kMaxRelpathLen = kRelpathBytes - 1;
inline constexpr size_t kMaxExtents = 16;
inline constexpr size_t kMaxStrips = 16;
// FILE entry flags: bit 0 (1) read-only on every host, bit 1 (2) read-write
// on every host (what the reference writes for every file). Bit 0 wins: a
// file whose flags have it is never written, by any user on any host; any
// other value (2, or 0 in some reference images) leaves writing to the mode.
inline constexpr uint32_t kFileFlagsAllRO = 1;
inline constexpr uint32_t kFileFlagsAllRW = 2;
constexpr bool flags_read_only(uint32_t flags) {
    return (flags & kFileFlagsAllRO) != 0;
}

using Uuid = std::array<uint8_t, 16>;
std::string uuid_to_string(const Uuid& u);
Result<Uuid> uuid_from_string(const std::string& s);
Uuid random_uuid();

uint64_t crc32(std::span<const uint8_t> bytes);

// Entries in a log of log_len bytes: (log_len - header) / entry size.
constexpr uint64_t log_capacity(uint64_t log_len) {
    return (log_len - kLogHeaderBytes) / kEntryBytes;
}

struct Superblock {
    uint64_t magic = kSuperblockMagic;
    uint64_t version = kSuperblockVersion;
    uint64_t log_offset = kLogOffset;
    uint64_t log_len = kMinLogLen;
    uint64_t alloc_unit = kAllocUnit;
    uint32_t omf_major = kOmfMajor;
    uint32_t omf_minor = kOmfMinor;
    Uuid fs_uuid{};
    Uuid dev_uuid{};
    Uuid system_uuid{};
    uint64_t crc = 0;  // as stored; encode() recomputes it
    uint32_t flags = 0;
    uint64_t dev_size = 0;
    Uuid daxdev_uuid{};
    std::string dev_name;  // at most 63 bytes are stored
};

inline bool deletes_marked(const Superblock& sb) {
    return sb.version == kSuperblockVersionDeletes;
}
// The superblock a first delete writes: version 49, OMF 2.3.
Superblock mark_for_deletes(Superblock sb);
// The same on the 200 stored bytes: only the version, the OMF minor and the
// CRC change, every other byte stays as the formatter wrote it.
void mark_superblock_bytes_for_deletes(std::span<uint8_t> superblock);
// Those three fields lie in two cache lines: a read that crosses the
// mark's write, or a device whose master stopped inside it, holds some of
// them as before and some as marked. When every one of them is either, and
// the CRC is the one of the bytes before or after the mark (so it vouches
// for every other byte), `superblock` becomes the marked superblock and
// this returns true; otherwise it is left as it is.
bool settle_delete_mark(std::span<uint8_t> superblock);

// Writes all 200 bytes (computing the CRC); bytes beyond 200 are untouched.
void encode_superblock(const Superblock& sb, std::span<uint8_t> out);
Superblock decode_superblock(std::span<const uint8_t> in);
uint64_t superblock_crc(std::span<const uint8_t> in);
// Checks, in the order of docs/format.md: magic, version, CRC, alloc_unit, log.
Status validate_superblock(std::span<const uint8_t> in);

struct LogHeader {
    uint64_t magic = kLogMagic;
    uint64_t log_len = 0;
    uint64_t last_index = 0;
    uint64_t crc = 0;
    uint64_t next_seqnum = 0;
    uint64_t next_index = 0;
};
void encode_log_header(const LogHeader& h, std::span<uint8_t> out);  // 48 bytes
LogHeader decode_log_header(std::span<const uint8_t> in);
Status validate_log_header(std::span<const uint8_t> in, uint64_t sb_log_len);
LogHeader make_log_header(uint64_t log_len);

enum class EntryType : uint32_t {
    kFile = 0,
    kMkdir = 1,
    kDelete = 2,
    kAddDaxdev = 3,
    kInvalid = 4
};
enum class ExtentType : uint32_t { kSimple = 0, kInterleaved = 1 };

struct Extent {
    uint64_t devindex = 0;
    uint64_t offset = 0;
    uint64_t len = 0;
    bool operator==(const Extent&) const = default;
};

// Where the superblock region and the log lie on the device: what a famfs
// mount serves as .meta/.superblock and .meta/.log.
inline Extent superblock_extent() {
    return {.offset = 0, .len = kSuperblockRegion};
}
inline Extent log_extent(const Superblock& sb) {
    return {.offset = sb.log_offset, .len = sb.log_len};
}

struct Interleave {
    uint64_t nstrips = 0;
    uint64_t chunk_size = 0;
    std::vector<Extent> strips;
    bool operator==(const Interleave&) const = default;
};

struct FileEntry {
    uint64_t size = 0;
    uint32_t flags = kFileFlagsAllRW;
    uint32_t uid = 0, gid = 0;
    uint32_t mode = 0644;  // permission bits only
    std::string relpath;
    ExtentType ext_type = ExtentType::kSimple;
    std::vector<Extent> extents;  // simple
    Interleave interleave;        // interleaved
    bool read_only() const { return flags_read_only(flags); }
    bool operator==(const FileEntry&) const = default;
};

struct MkdirEntry {
    uint32_t uid = 0, gid = 0;
    uint32_t mode = 0755;
    std::string relpath;
    bool operator==(const MkdirEntry&) const = default;
};

struct DaxdevEntry {
    uint64_t size = 0;
    Uuid uuid{};
    uint32_t index = 0;
    bool operator==(const DaxdevEntry&) const = default;
};

// What a DELETE removes: the object its target entry created.
enum class DeleteKind : uint32_t { kFile = 0, kDirectory = 1 };

struct DeleteEntry {
    std::string relpath;
    uint64_t target = 0;  // log index of the FILE or MKDIR entry deleted
    DeleteKind kind = DeleteKind::kFile;
    bool operator==(const DeleteEntry&) const = default;
};

// Types a reader must skip (INVALID is a tombstone; unknown types too).
struct OtherEntry {
    uint32_t type = 0;
    bool operator==(const OtherEntry&) const = default;
};

using Payload = std::variant<FileEntry, MkdirEntry, DaxdevEntry, OtherEntry, DeleteEntry>;

struct LogEntry {
    uint64_t seqnum = 0;
    Payload payload;
    bool operator==(const LogEntry&) const = default;
};

// Zero-fills the 544-byte slot, encodes the entry, stores its CRC. Fails
// (writing nothing) on a relpath over 79 bytes or too many extents/strips.
Status encode_entry(const LogEntry& e, std::span<uint8_t> out);
// Decodes a slot expected at `index`: check_entry, then parse_entry.
Result<LogEntry> decode_entry(std::span<const uint8_t> in, uint64_t index);
// The reader's trust test: seqnum == index and the CRC matches.
Status check_entry(std::span<const uint8_t> in, uint64_t index);
// Decodes the fields of a slot already checked (index names it in errors).
Result<LogEntry> parse_entry(std::span<const uint8_t> in, uint64_t index);
// The same into `out`, reusing its storage (replay parses entry after entry).
Status parse_entry_into(std::span<const uint8_t> in, uint64_t index, LogEntry& out);

// ---- the host table (docs/delete.md) ----

inline constexpr uint64_t kHostTableOffset = 1 * kMiB;  // inside the superblock region
inline constexpr size_t kHostSlots = 64;
inline constexpr size_t kHostSlotBytes = 256;
inline constexpr size_t kHostHalfBytes = 128;  // host half, then master half
inline constexpr size_t kHostNameBytes = 40;   // including the terminating NUL
static_assert(kHostTableOffset + kHostSlots * kHostSlotBytes <= kSuperblockRegion);

constexpr uint64_t host_slot_offset(size_t slot) {
    return kHostTableOffset + slot * kHostSlotBytes;
}

enum class HostState : uint32_t { kRequested = 1, kActive = 2, kLeft = 3 };

// Written only by the host that requested or holds the slot.
struct HostHalf {
    HostState state = HostState::kRequested;
    // The process id of the server holding the slot on its host: a server
    // that restarts on the same host takes the slot over only when that
    // process is gone (0: unknown).
    uint32_t server_pid = 0;
    Uuid system_uuid{};
    Uuid fs_uuid{};
    uint64_t nonce = 0;
    uint64_t watermark = 0;  // every DELETE below it is applied and let go
    uint64_t heartbeat = 0;
    uint64_t heartbeat_ns = 0;  // wall clock, display only
    std::string name;           // at most 39 bytes
    bool operator==(const HostHalf&) const = default;
};

// Written only by the master.
struct MasterHalf {
    bool evicted = false;
    Uuid granted_uuid{};
    Uuid fs_uuid{};
    uint64_t nonce = 0;
    uint64_t generation = 0;
    uint64_t time_ns = 0;  // wall clock of the grant or eviction, display only
    bool operator==(const MasterHalf&) const = default;
};

// All zeroes: empty. Magic and CRC match: valid. Anything else: torn (a
// write in progress or cut short); no field of it may be used.
enum class HalfStatus { kEmpty, kValid, kTorn };

template <class T>
struct DecodedHalf {
    HalfStatus status = HalfStatus::kEmpty;
    T half;  // meaningful only when valid
};

// Each writes all 128 bytes of `out`, CRC included. Fails (writing
// nothing) on a name over 39 bytes or an unknown state.
Status encode_host_half(const HostHalf& h, std::span<uint8_t> out);
void encode_master_half(const MasterHalf& m, std::span<uint8_t> out);
DecodedHalf<HostHalf> decode_host_half(std::span<const uint8_t> in);
DecodedHalf<MasterHalf> decode_master_half(std::span<const uint8_t> in);

}  // namespace famfs::omf
