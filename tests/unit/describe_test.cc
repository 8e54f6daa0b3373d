// The YAML file description in the reference tool's exact layout (the golden
// suite checks it against real reference output; this pins the shape).
#include <gtest/gtest.h>

#include "famfs/describe.h"

namespace famfs {
namespace {

TEST(Describe, SimpleFile) {
    omf::FileEntry f;
    f.relpath = "a/b/odd";
    f.size = 3000001;
    f.mode = 0600;
    f.uid = 1000;
    f.gid = 100;
    f.extents = {{0, 0x8400000, 0x400000}, {0, 0x20000000, 0x200000}};
    EXPECT_EQ(describe_file(f),
              "---\n"
              "file:\n"
              "  path: a/b/odd\n"
              "  size: 3000001\n"
              "  flags: 2\n"
              "  mode: 0600\n"
              "  uid: 1000\n"
              "  gid: 100\n"
              "  nextents: 2\n"
              "  simple_ext_list:\n"
              "  - devindex: 0\n"
              "    offset: 0x8400000\n"
              "    length: 0x400000\n"
              "  - devindex: 0\n"
              "    offset: 0x20000000\n"
              "    length: 0x200000\n"
              "...\n");
}

TEST(Describe, StripedFile) {
    omf::FileEntry f;
    f.relpath = "s";
    f.size = 67108864;
    f.ext_type = omf::ExtentType::kInterleaved;
    f.interleave = {2, 0x200000, {{0, 0x180000000, 0x2000000}, {0, 0x7200000, 0x2000000}}};
    EXPECT_EQ(describe_file(f),
              "---\n"
              "file:\n"
              "  path: s\n"
              "  size: 67108864\n"
              "  flags: 2\n"
              "  mode: 0644\n"
              "  uid: 0\n"
              "  gid: 0\n"
              "  nextents: 1\n"
              "  striped_ext_list:\n"
              "  - nstrips: 2\n"
              "    chunk_size: 0x200000\n"
              "    simple_ext_list:\n"
              "    - devindex: 0\n"
              "      offset: 0x180000000\n"
              "      length: 0x2000000\n"
              "    - devindex: 0\n"
              "      offset: 0x7200000\n"
              "      length: 0x2000000\n"
              "...\n");
}

}  // namespace
}  // namespace famfs
