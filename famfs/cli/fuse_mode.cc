#include "fuse_mode.h"

#include <cstdio>
#include <string>

namespace famfs::cli {

void note_nofuse_ignored(std::string_view program) {
    const std::string name(program);
    std::fprintf(stderr,
                 "%s: --nofuse: %s; the device is read and written directly, "
                 "so the result is the same as with --fuse\n",
                 name.c_str(), kNoStandaloneModule);
}

}  // namespace famfs::cli
