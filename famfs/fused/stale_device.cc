#include "stale_device.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

namespace famfs::fused {

namespace {

constexpr size_t kNextIndexOffset = 40;

uint64_t get_u64(std::span<const uint8_t> b, size_t off) {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++) v |= uint64_t(b[off + i]) << (8 * i);
    return v;
}

// "a, b and c"
std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size(); i++) {
        if (i) out += i + 1 == names.size() ? " and " : ", ";
        out += names[i];
    }
    return out;
}

// The superblock fields that differ, by name; fs_uuid is shown old -> new.
// Adds "NAME WAS -> IS" to `names` when the field changed.
void note_change(std::vector<std::string>& names, const char* name, uint64_t was, uint64_t is) {
    if (was != is)
        names.push_back(std::string(name) + " " + std::to_string(was) + " -> " +
                        std::to_string(is));
}

std::string superblock_change(const omf::Superblock& was, const omf::Superblock& is) {
    std::vector<std::string> names;
    if (was.fs_uuid != is.fs_uuid) {
        names.push_back("fs_uuid " + omf::uuid_to_string(was.fs_uuid) + " -> " +
                        omf::uuid_to_string(is.fs_uuid));
    }
    note_change(names, "magic", was.magic, is.magic);
    note_change(names, "version", was.version, is.version);
    note_change(names, "log_len", was.log_len, is.log_len);
    note_change(names, "alloc_unit", was.alloc_unit, is.alloc_unit);
    note_change(names, "dev_size", was.dev_size, is.dev_size);
    if (was.dev_uuid != is.dev_uuid) names.push_back("dev_uuid");
    if (was.system_uuid != is.system_uuid) names.push_back("system_uuid (master)");
    note_change(names, "crc", was.crc, is.crc);
    if (names.empty()) names.push_back("other bytes");
    return joined(names);
}

std::string header_change(const omf::LogHeader& was, const omf::LogHeader& is) {
    std::vector<std::string> names;
    note_change(names, "magic", was.magic, is.magic);
    note_change(names, "log_len", was.log_len, is.log_len);
    note_change(names, "last_index", was.last_index, is.last_index);
    note_change(names, "crc", was.crc, is.crc);
    return joined(names);
}

// Equal bytes, or the mounted superblock as the master's first delete
// marks it (docs/delete.md, "The delete mark"): the one change a living
// file system's superblock ever sees.
bool same_file_system(std::span<const uint8_t, omf::kSuperblockBytes> mounted,
                      std::span<const uint8_t> now) {
    if (std::memcmp(mounted.data(), now.data(), mounted.size()) == 0) return true;
    std::array<uint8_t, omf::kSuperblockBytes> marked;
    std::copy(mounted.begin(), mounted.end(), marked.begin());
    omf::mark_superblock_bytes_for_deletes(marked);
    return std::memcmp(marked.data(), now.data(), marked.size()) == 0;
}

}  // namespace

DeviceIdentity DeviceIdentity::from(std::span<const uint8_t> superblock,
                                    std::span<const uint8_t> log_header) {
    DeviceIdentity id;
    std::copy_n(superblock.begin(), id.superblock.size(), id.superblock.begin());
    std::copy_n(log_header.begin(), id.log_header.size(), id.log_header.begin());
    return id;
}

omf::Uuid DeviceIdentity::fs_uuid() const {
    return omf::decode_superblock(superblock).fs_uuid;
}

uint64_t header_next_index(std::span<const uint8_t> log_header) {
    return get_u64(log_header, kNextIndexOffset);
}

std::optional<Staleness> compare_identity(const DeviceIdentity& mounted,
                                          std::span<const uint8_t> superblock_now,
                                          std::span<const uint8_t> log_header_now,
                                          std::optional<uint64_t> floor) {
    const bool sb_same = same_file_system(mounted.superblock, superblock_now);
    const bool header_same = std::memcmp(mounted.log_header.data(), log_header_now.data(),
                                         mounted.log_header.size()) == 0;
    const uint64_t next = header_next_index(log_header_now);
    if (sb_same && header_same && (!floor || next >= *floor)) return std::nullopt;
    // Under the same superblock, a header that fails its own checks is
    // unreadable, not another log: the server reports it as a log header
    // error and serves on (it recovers when the header is good again). mkfs
    // zeroes the superblock before it touches the log, so a re-format is
    // never mistaken for this.
    const uint64_t own_len = omf::decode_log_header(log_header_now).log_len;
    if (sb_same && !omf::validate_log_header(log_header_now, own_len)) return std::nullopt;

    Staleness st;
    const omf::Superblock now_sb =
        omf::decode_superblock(superblock_now.first(omf::kSuperblockBytes));
    if (const Status valid = omf::validate_superblock(superblock_now.first(omf::kSuperblockBytes));
        valid) {
        st.new_fs_uuid = now_sb.fs_uuid;
        st.now = "fs_uuid " + omf::uuid_to_string(now_sb.fs_uuid);
    } else {
        st.now = "no valid famfs superblock (" + valid.error().message + ")";
    }
    if (!sb_same) {
        st.cause = Staleness::Cause::kSuperblock;
        st.what = "the superblock changed (" +
                  superblock_change(omf::decode_superblock(mounted.superblock), now_sb) + ")";
    } else if (!header_same) {
        st.cause = Staleness::Cause::kLogHeader;
        uint8_t was[omf::kLogHeaderBytes] = {};
        std::copy(mounted.log_header.begin(), mounted.log_header.end(), was);
        st.what =
            "the log header changed (" +
            header_change(omf::decode_log_header(was), omf::decode_log_header(log_header_now)) +
            ")";
    } else {
        st.cause = Staleness::Cause::kNextIndexBack;
        st.what = "the log's next_index went back from " + std::to_string(*floor) + " to " +
                  std::to_string(next);
    }
    return st;
}

}  // namespace famfs::fused
