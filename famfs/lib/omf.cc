#include "famfs/omf.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <random>

#include "bytes.h"

namespace famfs::omf {
namespace {

using bytes::get;
using bytes::put;

// Superblock field offsets (docs/format.md).
namespace sbo {
constexpr size_t kMagic = 0, kVersion = 8, kLogOffset = 16, kLogLen = 24, kAllocUnit = 32,
                 kMajor = 40, kMinor = 44, kFsUuid = kSuperblockFsUuidOffset, kDevUuid = 64,
                 kSystemUuid = 80, kCrc = 96, kFlags = 104, kDevSize = 112, kDaxUuid = 120,
                 kDevName = 136, kDevNameBytes = 64;
static_assert(kDevName + kDevNameBytes == kSuperblockBytes);
}  // namespace sbo

// Log header offsets.
namespace lho {
constexpr size_t kMagic = 0, kLogLen = 8, kLastIndex = 16, kCrc = 24, kNextSeqnum = 32,
                 kNextIndex = 40;
static_assert(kNextIndex + 8 == kLogHeaderBytes);
}  // namespace lho

// Entry offsets (relative to the start of the 544-byte slot).
namespace eo {
constexpr size_t kSeqnum = 0, kType = 8, kCrc = 536;
// FILE
constexpr size_t kSize = 16, kFlags = 24, kUid = 28, kGid = 32, kMode = 36, kRelpath = 40,
                 kExtType = 120, kNextents = 128, kExtents = 136, kExtentBytes = 24;
constexpr size_t kNstrips = 136, kChunk = 144, kStrips = 152;
// MKDIR
constexpr size_t kDirUid = 16, kDirGid = 20, kDirMode = 24, kDirRelpath = 28;
// ADD_DAXDEV
constexpr size_t kDaxSize = 16, kDaxUuid = 24, kDaxIndex = 40;
// DELETE (docs/delete.md)
constexpr size_t kDelRelpath = 16, kDelTarget = 96, kDelKind = 104;
static_assert(kDelRelpath + kRelpathBytes == kDelTarget);
static_assert(kExtents + kMaxExtents * kExtentBytes <= kCrc);
static_assert(kStrips + kMaxStrips * kExtentBytes <= kCrc);
static_assert(kRelpath + kRelpathBytes == kExtType);
static_assert(kCrc + 8 == kEntryBytes);
}  // namespace eo

// Host slot halves (docs/delete.md), offsets within each 128-byte half.
namespace hso {
constexpr size_t kMagic = 0, kState = 8, kPid = 12, kSystemUuid = 16, kFsUuid = 32, kNonce = 48,
                 kWatermark = 56, kHeartbeat = 64, kHeartbeatNs = 72, kName = 80, kCrc = 120;
static_assert(kName + kHostNameBytes == kCrc);
static_assert(kCrc + 8 == kHostHalfBytes);
}  // namespace hso
namespace mso {
constexpr size_t kMagic = 0, kFlags = 8, kGrantedUuid = 16, kFsUuid = 32, kNonce = 48,
                 kGeneration = 56, kTimeNs = 64, kCrc = 120;
constexpr uint32_t kEvicted = 1;
static_assert(kCrc + 8 == kHostHalfBytes);
}  // namespace mso

// The magics are the ASCII bytes in this order on the media.
constexpr uint64_t ascii_magic(const char (&s)[9]) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(s[i]);
    return v;
}
constexpr uint64_t kHostHalfMagic = ascii_magic("FAMFSHST");
constexpr uint64_t kMasterHalfMagic = ascii_magic("FAMFSGNT");

Uuid get_uuid(std::span<const uint8_t> b, size_t off) {
    Uuid u;
    std::copy_n(b.data() + off, u.size(), u.begin());
    return u;
}

void put_uuid(std::span<uint8_t> b, size_t off, const Uuid& u) {
    std::copy(u.begin(), u.end(), b.data() + off);
}

// A NUL-terminated string in a fixed field; unterminated fields are cut.
std::string_view cstr_view(std::span<const uint8_t> b, size_t off, size_t len) {
    const char* p = reinterpret_cast<const char*>(b.data() + off);
    return std::string_view(p, strnlen(p, len));
}

std::string get_cstr(std::span<const uint8_t> b, size_t off, size_t len) {
    return std::string(cstr_view(b, off, len));
}

void put_cstr(std::span<uint8_t> b, size_t off, size_t len, const std::string& s) {
    std::fill_n(b.data() + off, len, 0);
    std::copy_n(s.data(), std::min(s.size(), len - 1), b.data() + off);
}

Extent get_extent(std::span<const uint8_t> b, size_t off) {
    return {get<uint64_t>(b, off), get<uint64_t>(b, off + 8), get<uint64_t>(b, off + 16)};
}

void put_extent(std::span<uint8_t> b, size_t off, const Extent& e) {
    put<uint64_t>(b, off, e.devindex);
    put<uint64_t>(b, off + 8, e.offset);
    put<uint64_t>(b, off + 16, e.len);
}

Error relpath_error(const std::string& relpath) {
    return make_error(ENAMETOOLONG, "'" + relpath + "': path is " + std::to_string(relpath.size()) +
                                        " bytes; famfs logs at most " +
                                        std::to_string(kMaxRelpathLen));
}

Status encode_file(const FileEntry& f, std::span<uint8_t> b) {
    if (f.relpath.size() > kMaxRelpathLen) return relpath_error(f.relpath);
    put<uint64_t>(b, eo::kSize, f.size);
    put<uint32_t>(b, eo::kFlags, f.flags);
    put<uint32_t>(b, eo::kUid, f.uid);
    put<uint32_t>(b, eo::kGid, f.gid);
    put<uint32_t>(b, eo::kMode, f.mode);
    put_cstr(b, eo::kRelpath, kRelpathBytes, f.relpath);
    put<uint32_t>(b, eo::kExtType, static_cast<uint32_t>(f.ext_type));
    if (f.ext_type == ExtentType::kSimple) {
        if (f.extents.empty() || f.extents.size() > kMaxExtents)
            return make_error(EINVAL, "'" + f.relpath + "': " + std::to_string(f.extents.size()) +
                                          " extents (famfs logs 1 to 16)");
        put<uint32_t>(b, eo::kNextents, static_cast<uint32_t>(f.extents.size()));
        for (size_t i = 0; i < f.extents.size(); ++i)
            put_extent(b, eo::kExtents + i * eo::kExtentBytes, f.extents[i]);
        return {};
    }
    const Interleave& il = f.interleave;
    if (il.strips.empty() || il.strips.size() > kMaxStrips || il.nstrips != il.strips.size())
        return make_error(EINVAL, "'" + f.relpath + "': " + std::to_string(il.strips.size()) +
                                      " strips (famfs logs 1 to 16)");
    put<uint32_t>(b, eo::kNextents, 1);
    put<uint64_t>(b, eo::kNstrips, il.nstrips);
    put<uint64_t>(b, eo::kChunk, il.chunk_size);
    for (size_t i = 0; i < il.strips.size(); ++i)
        put_extent(b, eo::kStrips + i * eo::kExtentBytes, il.strips[i]);
    return {};
}

// Decodes into `f`, reusing its strings' and vectors' storage: replay
// decodes one entry after another into the same object.
Status decode_file_into(std::span<const uint8_t> b, FileEntry& f) {
    f.size = get<uint64_t>(b, eo::kSize);
    f.flags = get<uint32_t>(b, eo::kFlags);
    f.uid = get<uint32_t>(b, eo::kUid);
    f.gid = get<uint32_t>(b, eo::kGid);
    f.mode = get<uint32_t>(b, eo::kMode);
    f.relpath.assign(cstr_view(b, eo::kRelpath, kRelpathBytes));
    f.extents.clear();
    f.interleave.nstrips = f.interleave.chunk_size = 0;
    f.interleave.strips.clear();
    uint32_t ext_type = get<uint32_t>(b, eo::kExtType);
    uint32_t n = get<uint32_t>(b, eo::kNextents);
    if (ext_type == static_cast<uint32_t>(ExtentType::kSimple)) {
        f.ext_type = ExtentType::kSimple;
        if (n == 0 || n > kMaxExtents)
            return make_error(EINVAL, "'" + f.relpath + "': bad extent count " + std::to_string(n));
        for (uint32_t i = 0; i < n; ++i)
            f.extents.push_back(get_extent(b, eo::kExtents + i * eo::kExtentBytes));
        return {};
    }
    if (ext_type != static_cast<uint32_t>(ExtentType::kInterleaved))
        return make_error(EINVAL,
                          "'" + f.relpath + "': unknown extent type " + std::to_string(ext_type));
    f.ext_type = ExtentType::kInterleaved;
    if (n != 1)
        return make_error(EINVAL,
                          "'" + f.relpath + "': bad interleaved extent count " + std::to_string(n));
    f.interleave.nstrips = get<uint64_t>(b, eo::kNstrips);
    f.interleave.chunk_size = get<uint64_t>(b, eo::kChunk);
    if (f.interleave.nstrips == 0 || f.interleave.nstrips > kMaxStrips)
        return make_error(
            EINVAL, "'" + f.relpath + "': bad strip count " + std::to_string(f.interleave.nstrips));
    for (uint64_t i = 0; i < f.interleave.nstrips; ++i)
        f.interleave.strips.push_back(get_extent(b, eo::kStrips + i * eo::kExtentBytes));
    return {};
}

Status parse_delete(std::span<const uint8_t> b, uint64_t index, LogEntry& e) {
    const uint32_t kind = get<uint32_t>(b, eo::kDelKind);
    DeleteEntry d{get_cstr(b, eo::kDelRelpath, kRelpathBytes), get<uint64_t>(b, eo::kDelTarget),
                  static_cast<DeleteKind>(kind)};
    if (kind > static_cast<uint32_t>(DeleteKind::kDirectory))
        return make_error(EBADMSG, "log entry " + std::to_string(index) + ": '" + d.relpath +
                                       "': unknown delete kind " + std::to_string(kind));
    e.payload = std::move(d);
    return {};
}

}  // namespace

std::string uuid_to_string(const Uuid& u) {
    char s[37];
    std::snprintf(s, sizeof s,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                  u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
                  u[14], u[15]);
    return s;
}

Result<Uuid> uuid_from_string(const std::string& text) {
    // Canonical 8-4-4-4-12 hex form only.
    static constexpr size_t kDashes[] = {8, 13, 18, 23};
    auto bad = make_error(EINVAL, "'" + text + "' is not a UUID");
    if (text.size() != 36) return bad;
    std::string hex;
    for (size_t i = 0; i < text.size(); ++i) {
        bool dash_here = std::find(std::begin(kDashes), std::end(kDashes), i) != std::end(kDashes);
        if (dash_here != (text[i] == '-')) return bad;
        if (dash_here) continue;
        if (!std::isxdigit(static_cast<unsigned char>(text[i]))) return bad;
        hex += text[i];
    }
    Uuid u{};
    for (size_t i = 0; i < u.size(); ++i)
        u[i] = static_cast<uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
    return u;
}

Uuid random_uuid() {
    Uuid u;
    std::random_device rd;
    for (auto& b : u) b = static_cast<uint8_t>(rd());
    u[6] = static_cast<uint8_t>((u[6] & 0x0f) | 0x40);  // version 4
    u[8] = static_cast<uint8_t>((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return u;
}

// ---- superblock ----

uint64_t superblock_crc(std::span<const uint8_t> in) {
    return crc32(in.first(sbo::kCrc));
}

void encode_superblock(const Superblock& sb, std::span<uint8_t> b) {
    std::fill_n(b.data(), kSuperblockBytes, 0);
    put<uint64_t>(b, sbo::kMagic, sb.magic);
    put<uint64_t>(b, sbo::kVersion, sb.version);
    put<uint64_t>(b, sbo::kLogOffset, sb.log_offset);
    put<uint64_t>(b, sbo::kLogLen, sb.log_len);
    put<uint64_t>(b, sbo::kAllocUnit, sb.alloc_unit);
    put<uint32_t>(b, sbo::kMajor, sb.omf_major);
    put<uint32_t>(b, sbo::kMinor, sb.omf_minor);
    put_uuid(b, sbo::kFsUuid, sb.fs_uuid);
    put_uuid(b, sbo::kDevUuid, sb.dev_uuid);
    put_uuid(b, sbo::kSystemUuid, sb.system_uuid);
    put<uint64_t>(b, sbo::kCrc, superblock_crc(b));
    put<uint32_t>(b, sbo::kFlags, sb.flags);
    put<uint64_t>(b, sbo::kDevSize, sb.dev_size);
    put_uuid(b, sbo::kDaxUuid, sb.daxdev_uuid);
    put_cstr(b, sbo::kDevName, sbo::kDevNameBytes, sb.dev_name);
}

Superblock decode_superblock(std::span<const uint8_t> b) {
    Superblock sb;
    sb.magic = get<uint64_t>(b, sbo::kMagic);
    sb.version = get<uint64_t>(b, sbo::kVersion);
    sb.log_offset = get<uint64_t>(b, sbo::kLogOffset);
    sb.log_len = get<uint64_t>(b, sbo::kLogLen);
    sb.alloc_unit = get<uint64_t>(b, sbo::kAllocUnit);
    sb.omf_major = get<uint32_t>(b, sbo::kMajor);
    sb.omf_minor = get<uint32_t>(b, sbo::kMinor);
    sb.fs_uuid = get_uuid(b, sbo::kFsUuid);
    sb.dev_uuid = get_uuid(b, sbo::kDevUuid);
    sb.system_uuid = get_uuid(b, sbo::kSystemUuid);
    sb.crc = get<uint64_t>(b, sbo::kCrc);
    sb.flags = get<uint32_t>(b, sbo::kFlags);
    sb.dev_size = get<uint64_t>(b, sbo::kDevSize);
    sb.daxdev_uuid = get_uuid(b, sbo::kDaxUuid);
    sb.dev_name = get_cstr(b, sbo::kDevName, sbo::kDevNameBytes);
    return sb;
}

Status validate_superblock(std::span<const uint8_t> b) {
    Superblock sb = decode_superblock(b);
    if (sb.magic != kSuperblockMagic) return make_error(ENODATA, "no famfs superblock (bad magic)");
    if (sb.version != kSuperblockVersion && sb.version != kSuperblockVersionOld &&
        sb.version != kSuperblockVersionDeletes)
        return make_error(EPROTO, "wrong superblock version " + std::to_string(sb.version) +
                                      " (this famfs reads 47, 48 and 49)");
    if (sb.crc != superblock_crc(b)) return make_error(EBADMSG, "superblock CRC mismatch");
    if (sb.alloc_unit != kAllocUnit && sb.alloc_unit != kSmallAllocUnit)
        return make_error(EINVAL, "bad allocation unit " + std::to_string(sb.alloc_unit));
    if (sb.log_offset != kLogOffset || sb.log_len < kMinLogLen || !std::has_single_bit(sb.log_len))
        return make_error(EINVAL, "bad log placement (offset " + std::to_string(sb.log_offset) +
                                      ", length " + std::to_string(sb.log_len) + ")");
    return {};
}

Superblock mark_for_deletes(Superblock sb) {
    sb.version = kSuperblockVersionDeletes;
    sb.omf_minor = kOmfMinorDeletes;
    return sb;
}

void mark_superblock_bytes_for_deletes(std::span<uint8_t> b) {
    put<uint64_t>(b, sbo::kVersion, kSuperblockVersionDeletes);
    put<uint32_t>(b, sbo::kMinor, kOmfMinorDeletes);
    put<uint64_t>(b, sbo::kCrc, superblock_crc(b));
}

bool settle_delete_mark(std::span<uint8_t> b) {
    const uint64_t crc = get<uint64_t>(b, sbo::kCrc);
    if (crc == superblock_crc(b)) return false;
    // Each field as the formatter may have left it (47 and 48 are the
    // versions marked; minors below 3) or as the mark writes it.
    const uint64_t version = get<uint64_t>(b, sbo::kVersion);
    const uint32_t minor = get<uint32_t>(b, sbo::kMinor);
    const bool fields_known = (version == kSuperblockVersionOld || version == kSuperblockVersion ||
                               version == kSuperblockVersionDeletes) &&
                              minor <= kOmfMinorDeletes;
    if (!fields_known) return false;
    std::array<uint8_t, kSuperblockBytes> marked;
    std::copy_n(b.begin(), kSuperblockBytes, marked.begin());
    mark_superblock_bytes_for_deletes(marked);
    bool vouched = crc == get<uint64_t>(marked, sbo::kCrc);
    for (const uint64_t v : {kSuperblockVersionOld, kSuperblockVersion}) {
        for (uint32_t m = 0; m < kOmfMinorDeletes && !vouched; ++m) {
            std::array<uint8_t, kSuperblockBytes> before = marked;
            put<uint64_t>(before, sbo::kVersion, v);
            put<uint32_t>(before, sbo::kMinor, m);
            vouched = crc == superblock_crc(before);
        }
    }
    if (!vouched) return false;
    std::copy(marked.begin(), marked.end(), b.begin());
    return true;
}

// ---- log header ----

LogHeader make_log_header(uint64_t log_len) {
    LogHeader h;
    h.log_len = log_len;
    h.last_index = log_capacity(log_len) - 1;
    return h;
}

void encode_log_header(const LogHeader& h, std::span<uint8_t> b) {
    put<uint64_t>(b, lho::kMagic, h.magic);
    put<uint64_t>(b, lho::kLogLen, h.log_len);
    put<uint64_t>(b, lho::kLastIndex, h.last_index);
    put<uint64_t>(b, lho::kCrc, crc32(b.first(lho::kCrc)));
    put<uint64_t>(b, lho::kNextSeqnum, h.next_seqnum);
    put<uint64_t>(b, lho::kNextIndex, h.next_index);
}

LogHeader decode_log_header(std::span<const uint8_t> b) {
    LogHeader h;
    h.magic = get<uint64_t>(b, lho::kMagic);
    h.log_len = get<uint64_t>(b, lho::kLogLen);
    h.last_index = get<uint64_t>(b, lho::kLastIndex);
    h.crc = get<uint64_t>(b, lho::kCrc);
    h.next_seqnum = get<uint64_t>(b, lho::kNextSeqnum);
    h.next_index = get<uint64_t>(b, lho::kNextIndex);
    return h;
}

Status validate_log_header(std::span<const uint8_t> b, uint64_t sb_log_len) {
    LogHeader h = decode_log_header(b);
    if (h.magic != kLogMagic) return make_error(EBADMSG, "log header: bad magic");
    if (h.crc != crc32(b.first(lho::kCrc))) return make_error(EBADMSG, "log header: CRC mismatch");
    if (h.log_len != sb_log_len)
        return make_error(EBADMSG, "log header: length " + std::to_string(h.log_len) +
                                       " differs from the superblock's " +
                                       std::to_string(sb_log_len));
    if (h.last_index != log_capacity(h.log_len) - 1)
        return make_error(EBADMSG, "log header: bad last_index " + std::to_string(h.last_index));
    if (h.next_index > h.last_index + 1)
        return make_error(EBADMSG, "log header: next_index " + std::to_string(h.next_index) +
                                       " is past the end of the log");
    return {};
}

// ---- entries ----

Status encode_entry(const LogEntry& e, std::span<uint8_t> out) {
    uint8_t slot[kEntryBytes] = {};  // the CRC covers padding: start from zeros
    std::span<uint8_t> b(slot, kEntryBytes);
    put<uint64_t>(b, eo::kSeqnum, e.seqnum);
    if (auto* f = std::get_if<FileEntry>(&e.payload)) {
        put<uint32_t>(b, eo::kType, static_cast<uint32_t>(EntryType::kFile));
        FAMFS_TRY(encode_file(*f, b));
    } else if (auto* d = std::get_if<MkdirEntry>(&e.payload)) {
        if (d->relpath.size() > kMaxRelpathLen) return relpath_error(d->relpath);
        put<uint32_t>(b, eo::kType, static_cast<uint32_t>(EntryType::kMkdir));
        put<uint32_t>(b, eo::kDirUid, d->uid);
        put<uint32_t>(b, eo::kDirGid, d->gid);
        put<uint32_t>(b, eo::kDirMode, d->mode);
        put_cstr(b, eo::kDirRelpath, kRelpathBytes, d->relpath);
    } else if (auto* x = std::get_if<DaxdevEntry>(&e.payload)) {
        put<uint32_t>(b, eo::kType, static_cast<uint32_t>(EntryType::kAddDaxdev));
        put<uint64_t>(b, eo::kDaxSize, x->size);
        put_uuid(b, eo::kDaxUuid, x->uuid);
        put<uint32_t>(b, eo::kDaxIndex, x->index);
    } else if (auto* del = std::get_if<DeleteEntry>(&e.payload)) {
        if (del->relpath.size() > kMaxRelpathLen) return relpath_error(del->relpath);
        put<uint32_t>(b, eo::kType, static_cast<uint32_t>(EntryType::kDelete));
        put_cstr(b, eo::kDelRelpath, kRelpathBytes, del->relpath);
        put<uint64_t>(b, eo::kDelTarget, del->target);
        put<uint32_t>(b, eo::kDelKind, static_cast<uint32_t>(del->kind));
    } else {
        put<uint32_t>(b, eo::kType, std::get<OtherEntry>(e.payload).type);
    }
    put<uint64_t>(b, eo::kCrc, crc32(b.first(eo::kCrc)));
    std::copy_n(slot, kEntryBytes, out.data());
    return {};
}

Status check_entry(std::span<const uint8_t> b, uint64_t index) {
    uint64_t seqnum = get<uint64_t>(b, eo::kSeqnum);
    if (seqnum != index)
        return make_error(EBADMSG, "log entry " + std::to_string(index) + ": seqnum " +
                                       std::to_string(seqnum) + " != index");
    if (get<uint64_t>(b, eo::kCrc) != crc32(b.first(eo::kCrc)))
        return make_error(EBADMSG, "log entry " + std::to_string(index) + ": CRC mismatch");
    return {};
}

Result<LogEntry> decode_entry(std::span<const uint8_t> b, uint64_t index) {
    FAMFS_TRY(check_entry(b, index));
    return parse_entry(b, index);
}

Result<LogEntry> parse_entry(std::span<const uint8_t> b, uint64_t index) {
    LogEntry e;
    FAMFS_TRY(parse_entry_into(b, index, e));
    return e;
}

Status parse_entry_into(std::span<const uint8_t> b, uint64_t index, LogEntry& e) {
    e.seqnum = get<uint64_t>(b, eo::kSeqnum);
    uint32_t type = get<uint32_t>(b, eo::kType);
    switch (static_cast<EntryType>(type)) {
        case EntryType::kFile: {
            auto* f = std::get_if<FileEntry>(&e.payload);
            if (!f) f = &e.payload.emplace<FileEntry>();
            if (auto s = decode_file_into(b, *f); !s)
                return make_error(EBADMSG,
                                  "log entry " + std::to_string(index) + ": " + s.error().message);
            break;
        }
        case EntryType::kMkdir:
            e.payload = MkdirEntry{get<uint32_t>(b, eo::kDirUid), get<uint32_t>(b, eo::kDirGid),
                                   get<uint32_t>(b, eo::kDirMode),
                                   get_cstr(b, eo::kDirRelpath, kRelpathBytes)};
            break;
        case EntryType::kAddDaxdev:
            e.payload = DaxdevEntry{get<uint64_t>(b, eo::kDaxSize), get_uuid(b, eo::kDaxUuid),
                                    get<uint32_t>(b, eo::kDaxIndex)};
            break;
        case EntryType::kDelete:
            return parse_delete(b, index, e);
        default:
            e.payload = OtherEntry{type};
            break;
    }
    return {};
}

// ---- host table ----

namespace {

bool all_zero(std::span<const uint8_t> b) {
    return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

HalfStatus half_status(std::span<const uint8_t> b, uint64_t magic, size_t crc_at) {
    if (all_zero(b.first(kHostHalfBytes))) return HalfStatus::kEmpty;
    if (get<uint64_t>(b, 0) != magic) return HalfStatus::kTorn;
    if (get<uint64_t>(b, crc_at) != crc32(b.first(crc_at))) return HalfStatus::kTorn;
    return HalfStatus::kValid;
}

}  // namespace

Status encode_host_half(const HostHalf& h, std::span<uint8_t> out) {
    if (h.name.size() >= kHostNameBytes)
        return make_error(ENAMETOOLONG, "host name '" + h.name + "' is " +
                                            std::to_string(h.name.size()) +
                                            " bytes; the host table keeps at most " +
                                            std::to_string(kHostNameBytes - 1));
    if (h.state < HostState::kRequested || h.state > HostState::kLeft)
        return make_error(EINVAL,
                          "unknown host state " + std::to_string(static_cast<uint32_t>(h.state)));
    uint8_t image[kHostHalfBytes] = {};
    std::span<uint8_t> b(image, sizeof image);
    put<uint64_t>(b, hso::kMagic, kHostHalfMagic);
    put<uint32_t>(b, hso::kState, static_cast<uint32_t>(h.state));
    put<uint32_t>(b, hso::kPid, h.server_pid);
    put_uuid(b, hso::kSystemUuid, h.system_uuid);
    put_uuid(b, hso::kFsUuid, h.fs_uuid);
    put<uint64_t>(b, hso::kNonce, h.nonce);
    put<uint64_t>(b, hso::kWatermark, h.watermark);
    put<uint64_t>(b, hso::kHeartbeat, h.heartbeat);
    put<uint64_t>(b, hso::kHeartbeatNs, h.heartbeat_ns);
    put_cstr(b, hso::kName, kHostNameBytes, h.name);
    put<uint64_t>(b, hso::kCrc, crc32(b.first(hso::kCrc)));
    std::copy_n(image, sizeof image, out.data());
    return {};
}

void encode_master_half(const MasterHalf& m, std::span<uint8_t> out) {
    uint8_t image[kHostHalfBytes] = {};
    std::span<uint8_t> b(image, sizeof image);
    put<uint64_t>(b, mso::kMagic, kMasterHalfMagic);
    put<uint32_t>(b, mso::kFlags, m.evicted ? mso::kEvicted : 0);
    put_uuid(b, mso::kGrantedUuid, m.granted_uuid);
    put_uuid(b, mso::kFsUuid, m.fs_uuid);
    put<uint64_t>(b, mso::kNonce, m.nonce);
    put<uint64_t>(b, mso::kGeneration, m.generation);
    put<uint64_t>(b, mso::kTimeNs, m.time_ns);
    put<uint64_t>(b, mso::kCrc, crc32(b.first(mso::kCrc)));
    std::copy_n(image, sizeof image, out.data());
}

DecodedHalf<HostHalf> decode_host_half(std::span<const uint8_t> b) {
    DecodedHalf<HostHalf> d;
    d.status = half_status(b, kHostHalfMagic, hso::kCrc);
    const uint32_t state = get<uint32_t>(b, hso::kState);
    if (d.status == HalfStatus::kValid && (state < static_cast<uint32_t>(HostState::kRequested) ||
                                           state > static_cast<uint32_t>(HostState::kLeft)))
        d.status = HalfStatus::kTorn;  // sealed but meaningless: never trusted
    if (d.status != HalfStatus::kValid) return d;
    HostHalf& h = d.half;
    h.state = static_cast<HostState>(state);
    h.server_pid = get<uint32_t>(b, hso::kPid);
    h.system_uuid = get_uuid(b, hso::kSystemUuid);
    h.fs_uuid = get_uuid(b, hso::kFsUuid);
    h.nonce = get<uint64_t>(b, hso::kNonce);
    h.watermark = get<uint64_t>(b, hso::kWatermark);
    h.heartbeat = get<uint64_t>(b, hso::kHeartbeat);
    h.heartbeat_ns = get<uint64_t>(b, hso::kHeartbeatNs);
    h.name = get_cstr(b, hso::kName, kHostNameBytes);
    return d;
}

DecodedHalf<MasterHalf> decode_master_half(std::span<const uint8_t> b) {
    DecodedHalf<MasterHalf> d;
    d.status = half_status(b, kMasterHalfMagic, mso::kCrc);
    if (d.status != HalfStatus::kValid) return d;
    MasterHalf& m = d.half;
    m.evicted = (get<uint32_t>(b, mso::kFlags) & mso::kEvicted) != 0;
    m.granted_uuid = get_uuid(b, mso::kGrantedUuid);
    m.fs_uuid = get_uuid(b, mso::kFsUuid);
    m.nonce = get<uint64_t>(b, mso::kNonce);
    m.generation = get<uint64_t>(b, mso::kGeneration);
    m.time_ns = get<uint64_t>(b, mso::kTimeNs);
    return d;
}

}  // namespace famfs::omf
