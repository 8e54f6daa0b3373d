// Logs a buggy or hostile master can write (issue 16): entries whose
// extents collide with every other entry, and striped geometry that
// overflows. fsck reports them in bounded output; nothing is admitted that
// does not add up.
#include <cstdint>
#include <string>

#include "cli_fixture.h"
#include "famfs/device.h"
#include "famfs/log.h"
#include "famfs/system_uuid.h"
#include "worst_case_log.h"

namespace famfs::clitest {
namespace {

using HostileLogTest = CliTest;

uint64_t count_of(const std::string& text, const std::string& what) {
    uint64_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

void write_image(const std::string& dev, test::WorstCase shape) {
    test::WorstCaseSpec spec;
    spec.shape = shape;
    auto me = local_system_uuid();
    ASSERT_TRUE(me.ok());
    spec.system_uuid = *me;
    auto st = test::write_worst_case_image(dev, spec);
    ASSERT_TRUE(st.ok()) << st.error().message;
}

TEST_F(HostileLogTest, FsckOfAFullLogOfCollidingEntriesIsBounded) {
    for (auto shape : {test::WorstCase::kWholeDevice, test::WorstCase::kFragmented}) {
        write_image(dev_, shape);
        Outcome r = famfs({"fsck"});
        EXPECT_EQ(r.status, 127) << "the error count, capped" << r.err;
        const uint64_t entries = omf::log_capacity(omf::kMinLogLen);
        EXPECT_TRUE(contains(r.out, "# of log entries in use: 15420 of 15420")) << r.err;
        EXPECT_TRUE(contains(r.out, "allocation collision(s) (units claimed twice)"));
        const uint64_t lines = count_of(r.out, "ERROR: cross-linked: ");
        EXPECT_GE(lines, entries - 1) << "every colliding file is named";
        EXPECT_LE(lines, entries * 5);
        EXPECT_TRUE(contains(r.out, test::worst_case_relpath(0) + " (log entry 0) and " +
                                        test::worst_case_relpath(15419) + " (log entry 15419)"));
        EXPECT_TRUE(contains(r.out, "15420 files"));
    }
}

// Appends an entry as a hostile master would: straight into the log.
void append_raw(const std::string& dev, const omf::LogEntry& e) {
    auto vol = Volume::open(dev, Access::kReadWrite);
    ASSERT_TRUE(vol.ok());
    auto lock = DeviceLock::acquire(dev, DeviceLock::Kind::kAppend, true);
    ASSERT_TRUE(lock.ok());
    ASSERT_TRUE((*vol)->log().append(e).ok());
}

omf::LogEntry striped(const std::string& relpath, uint64_t chunk) {
    omf::FileEntry f;
    f.relpath = relpath;
    f.size = 64 * omf::kMiB;
    f.ext_type = omf::ExtentType::kInterleaved;
    f.interleave = {
        2, chunk, {{0, 1 * omf::kGiB, 32 * omf::kMiB}, {0, 2 * omf::kGiB, 32 * omf::kMiB}}};
    return {0, f};
}

// Issue 16: chunk sizes of 2^63 and 2^64 - 2 MiB wrapped the chunk count to
// 0, so the entries were admitted, fsck said nothing and opens failed later.
TEST_F(HostileLogTest, StripedGeometryThatOverflowsIsRefusedAndReported) {
    format("4g");
    append_raw(dev_, striped("wraps63", uint64_t{1} << 63));
    append_raw(dev_, striped("wraps64", ~uint64_t{0} - 2 * omf::kMiB + 1));
    append_raw(dev_, striped("fine", 2 * omf::kMiB));
    Outcome r = famfs({"fsck"});
    EXPECT_EQ(r.status, 2) << r.out << r.err;
    EXPECT_TRUE(contains(r.out, "log entry 0 (wraps63) refused: ")) << r.out;
    EXPECT_TRUE(contains(r.out, "log entry 1 (wraps64) refused: ")) << r.out;
    EXPECT_TRUE(contains(r.out, "2 bad log entries detected")) << r.out;
    EXPECT_EQ(famfs({"getmap", "-q", "wraps63"}).status, ENOENT);
    EXPECT_EQ(famfs({"getmap", "-q", "fine"}).status, 0);
    EXPECT_EQ(read_file("fine").size(), 64 * omf::kMiB);
}

}  // namespace
}  // namespace famfs::clitest
