// Every test binary runs as a host of its own: FAMFS_SYSTEM_UUID_FILE points
// to a private temp file, so tests never touch /opt/famfs/system_uuid.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

int main(int argc, char** argv) {
    std::string path = "/tmp/famfs-test-uuid-" + std::to_string(getpid());
    setenv("FAMFS_SYSTEM_UUID_FILE", path.c_str(), 1);
    ::testing::InitGoogleTest(&argc, argv);
    int rc = RUN_ALL_TESTS();
    unlink(path.c_str());
    return rc;
}
