// Worst-case logs for replay cost: every FILE entry collides with every
// other one, on 4 KiB allocation units, with the full 16 extents, filling
// the log. Replay, fsck and every famfs_fused must handle such a log (a
// buggy or hostile master can write one) in memory O(entries) and time
// O(entries x extents). Header-only: the unit, CLI and FUSE tests and the
// benchmarks all build it.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs::test {

enum class WorstCase {
    // Each entry: 16 extents, each covering the whole data area (the shape
    // of issue 16's report). Entry 0 takes everything; every later entry
    // collides with it 16 times over.
    kWholeDevice,
    // Each entry: 15 one-unit extents of its own, spaced one unit apart,
    // and one extent from the data start over every earlier entry's units.
    // The first claims stay fragmented (one owner per unit), so naming the
    // owners of a collision cannot take one step per earlier entry.
    kFragmented,
};

struct WorstCaseSpec {
    uint64_t dev_size = 8 * omf::kGiB;
    uint64_t log_len = omf::kMinLogLen;
    uint64_t alloc_unit = omf::kSmallAllocUnit;
    static constexpr uint64_t kFull = ~uint64_t{0};
    uint64_t entries = kFull;  // kFull: as many as the log holds
    WorstCase shape = WorstCase::kWholeDevice;
    omf::Uuid system_uuid{};  // the master's identity
    uint64_t data_start() const { return omf::kLogOffset + log_len; }
    uint64_t capacity() const { return omf::log_capacity(log_len); }
    uint64_t count() const { return entries > capacity() ? capacity() : entries; }
};

// The relpath of entry `i`: 79 bytes (the longest famfs logs), so that
// names cost what they can.
inline std::string worst_case_relpath(uint64_t i) {
    std::string name = "w" + std::to_string(i) + "-";
    name.resize(omf::kMaxRelpathLen, 'x');
    return name;
}

inline std::vector<omf::Extent> worst_case_extents(const WorstCaseSpec& s, uint64_t i) {
    const uint64_t data = s.data_start(), u = s.alloc_unit;
    std::vector<omf::Extent> x;
    if (s.shape == WorstCase::kWholeDevice) {
        x.assign(omf::kMaxExtents, omf::Extent{0, data, (s.dev_size - data) / u * u});
        return x;
    }
    const uint64_t own = 2 + 2 * (omf::kMaxExtents - 1) * i;  // this entry's first unit
    x.push_back({0, data, own * u});                          // every earlier entry's units
    for (uint64_t k = 0; k + 1 < omf::kMaxExtents; ++k)
        x.push_back({0, data + (own + 2 * k) * u, u});
    return x;
}

inline omf::LogEntry worst_case_entry(const WorstCaseSpec& s, uint64_t i) {
    omf::FileEntry f;
    f.relpath = worst_case_relpath(i);
    f.extents = worst_case_extents(s, i);
    f.size = f.extents.back().len;
    f.mode = 0644;
    return omf::LogEntry{i, f};
}

// Writes a formatted image (superblock, log header, entries) to `path`,
// created sparse at dev_size bytes: only the first 10 MiB are written.
inline Status write_worst_case_image(const std::string& path, const WorstCaseSpec& s) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return make_error(errno, "cannot create " + path);
    std::vector<uint8_t> head(s.data_start(), 0);
    omf::Superblock sb;
    sb.log_len = s.log_len;
    sb.alloc_unit = s.alloc_unit;
    sb.fs_uuid = omf::random_uuid();
    sb.dev_uuid = omf::random_uuid();
    sb.system_uuid = s.system_uuid;
    sb.dev_size = s.dev_size;
    sb.dev_name = "/dev/dax0.0";
    omf::encode_superblock(sb, {head.data(), omf::kSuperblockBytes});
    uint8_t* log = head.data() + omf::kLogOffset;
    omf::LogHeader h = omf::make_log_header(s.log_len);
    h.next_index = h.next_seqnum = s.count();
    omf::encode_log_header(h, {log, omf::kLogHeaderBytes});
    Status st;
    for (uint64_t i = 0; i < s.count() && st; ++i)
        st = omf::encode_entry(
            worst_case_entry(s, i),
            {log + omf::kLogHeaderBytes + i * omf::kEntryBytes, omf::kEntryBytes});
    const bool written =
        st && ::ftruncate(fd, static_cast<off_t>(s.dev_size)) == 0 &&
        ::pwrite(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size());
    ::close(fd);
    if (!st) return st;
    if (!written) return make_error(EIO, "cannot write " + path);
    return {};
}

}  // namespace famfs::test
