// The fixture of the FUSE integration tests: a formatted device file in
// /dev/shm, the master's library handle on it, and hosts that mount it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "famfs/dax.h"
#include "famfs/volume.h"
#include "famfs_test_support.h"
#include "fuse_hosts.h"

namespace famfs::fusetest {

class FuseTest : public ::testing::Test {
  public:
    // Sparse: only the log and the bytes tests write take memory. Large
    // enough for two 1 GiB stripe buckets.
    static constexpr uint64_t kDeviceSize = 4 * omf::kGiB;

    void SetUp() override;
    void TearDown() override;

    // Starts hosts; the test fails (fatally) if a mount does not come up.
    Host& start_master(const std::vector<std::string>& flags = {});
    Host& start_client(const std::string& name, const std::vector<std::string>& flags = {});

    // Logs a file through the library (as the master) and fills it with the
    // test pattern of `seed` (0: leave it zero).
    omf::FileEntry create(const std::string& relpath, uint64_t size, uint32_t mode = 0644,
                          uint64_t seed = 0);
    void mkdir(const std::string& relpath, uint32_t mode = 0755);
    // The file's bytes through the direct-access API.
    std::vector<uint8_t> direct_read(const std::string& relpath);
    // The superblock and log regions, to prove an operation changed nothing.
    std::vector<uint8_t> metadata_bytes();

    const std::string& device() const { return dev_->path(); }
    Volume& volume() { return *vol_; }

    Scratch scratch_;
    std::unique_ptr<test::ShmFile> dev_;
    std::unique_ptr<Volume> vol_;
    std::vector<std::unique_ptr<Host>> hosts_;
};

}  // namespace famfs::fusetest
