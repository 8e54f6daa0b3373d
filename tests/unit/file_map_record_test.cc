// The map record the server hands the interception library: it round-trips,
// and a reader refuses anything truncated, foreign, corrupt or reaching
// outside the device.
#include <gtest/gtest.h>

#include "famfs/file_map_record.h"

namespace famfs {
namespace {

FileMapRecord sample() {
    FileMapRecord r;
    r.flags = FileMapRecord::kHostLocalMemory;
    r.fs_uuid = omf::random_uuid();
    r.device_size = 8 * omf::kGiB;
    r.device_path = "/dev/shm/famfs0";
    r.epoch_path = "/dev/shm/famfs-epoch-123-abcdef";
    r.file.relpath = "data/blob";
    r.file.size = 3 * omf::kMiB;
    r.file.extents = {{0, 8 * omf::kMiB, 2 * omf::kMiB}, {0, 12 * omf::kMiB, 2 * omf::kMiB}};
    return r;
}

TEST(FileMapRecord, RoundTrips) {
    const FileMapRecord r = sample();
    auto back = decode_file_map(encode_file_map(r));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, r);
    EXPECT_TRUE(back->host_local());
}

TEST(FileMapRecord, StripedFilesRoundTrip) {
    FileMapRecord r = sample();
    r.file.ext_type = omf::ExtentType::kInterleaved;
    r.file.extents.clear();
    r.file.interleave = {
        2, 2 * omf::kMiB, {{0, 8 * omf::kMiB, 4 * omf::kMiB}, {0, 16 * omf::kMiB, 4 * omf::kMiB}}};
    auto back = decode_file_map(encode_file_map(r));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, r);
}

TEST(FileMapRecord, EveryTruncationIsRefused) {
    const auto bytes = encode_file_map(sample());
    for (size_t n = 0; n < bytes.size(); n++) {
        EXPECT_FALSE(decode_file_map(std::span(bytes.data(), n))) << n << " bytes";
    }
    auto longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decode_file_map(longer));
}

TEST(FileMapRecord, ForeignVersionsAndCorruptEntriesAreRefused) {
    auto bytes = encode_file_map(sample());
    auto other_version = bytes;
    other_version[8] = 2;
    auto r = decode_file_map(other_version);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("version 2"), std::string::npos) << r.error().message;
    auto bad_magic = bytes;
    bad_magic[0] = 'X';
    EXPECT_FALSE(decode_file_map(bad_magic));
    auto bad_crc = bytes;
    bad_crc[bytes.size() - 300] ^= 1;  // inside the log entry slot
    EXPECT_FALSE(decode_file_map(bad_crc));
}

TEST(FileMapRecord, ExtentsOutsideTheDeviceAreRefused) {
    FileMapRecord r = sample();
    r.device_size = 10 * omf::kMiB;  // the second extent ends at 14 MiB
    auto back = decode_file_map(encode_file_map(r));
    ASSERT_FALSE(back);
    EXPECT_EQ(back.error().code, EINVAL);
    EXPECT_NE(back.error().message.find("outside the device"), std::string::npos);
}

}  // namespace
}  // namespace famfs
