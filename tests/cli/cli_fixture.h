// Runs the built famfs binaries against a private device file in /dev/shm
// with a private host identity, and inspects the result through the
// library.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "famfs/dax.h"
#include "famfs/volume.h"

namespace famfs::clitest {

struct Outcome {
    int status = -1;  // exit status, or 128 + signal
    std::string out, err;
};

// Runs argv (argv[0] is a path) with the environment of this process.
Outcome run(const std::vector<std::string>& argv);

// Starts argv (argv[0] is a path) in a child sharing this process's output,
// and returns its pid without waiting.
pid_t spawn(const std::vector<std::string>& argv);
// The same for a child the test means to kill at a random point: a
// sanitizer build skips its exit-time leak scan, which a kill would cut short.
pid_t spawn_to_kill(const std::vector<std::string>& argv);

class CliTest : public ::testing::Test {
  protected:
    void SetUp() override;
    void TearDown() override;

    // mkfs.famfs --size SIZE --allow-small DEVICE, expected to succeed.
    void format(const std::string& size = "64m", const std::vector<std::string>& extra = {});
    Outcome mkfs(const std::vector<std::string>& args);
    // famfs --device DEVICE ARGS...
    Outcome famfs(const std::vector<std::string>& args);
    // famfs ARGS... (no --device)
    Outcome famfs_plain(const std::vector<std::string>& args);

    // The whole device file (the host table blanked while the test's mount
    // runs: its server heartbeats there).
    std::vector<uint8_t> snapshot() const;
    uint64_t next_index() const;  // the log header's next_index
    std::unique_ptr<Volume> open_volume() const;
    State load() const;
    // A famfs file's bytes, read through the direct-access API.
    std::vector<uint8_t> read_file(const std::string& relpath) const;
    // Overwrites device bytes (to corrupt things on purpose).
    void poke(uint64_t offset, const std::vector<uint8_t>& bytes) const;
    // A file outside famfs, in this test's scratch directory.
    std::string local_file(const std::string& name, const std::vector<uint8_t>& bytes) const;
    // Makes this process (and the binaries it runs) a different host.
    void become_other_host() const;
    // `famfs mount` of the device on a private mount point (unmounted in
    // TearDown).
    void mount();

    // The famfs that famfs(), famfs_plain() and mount() run (and, through
    // `famfs mount`, the famfs_fused beside it).
    std::string famfs_bin_ = FAMFS_BIN;
    std::string dir_;
    std::string dev_;
    std::string uuid_file_;
    std::string mnt_;  // set while mounted
};

std::vector<uint8_t> pattern_bytes(size_t n, uint64_t seed);
std::vector<uint8_t> read_local(const std::string& path);
bool contains(const std::string& haystack, const std::string& needle);

// After a failing command: the device must be exactly as before.
#define EXPECT_DEVICE_UNCHANGED(before)                                             \
    do {                                                                            \
        auto after_ = snapshot();                                                   \
        EXPECT_TRUE(after_ == (before)) << "the failed command changed the device"; \
    } while (0)

}  // namespace famfs::clitest
