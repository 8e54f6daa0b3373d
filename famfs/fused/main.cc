// famfs_fused: the FUSE server behind `famfs mount`.
#include <cstdio>

#include "session.h"

int main(int argc, char** argv) {
    auto opt = famfs::fused::parse_options(argc, argv);
    if (!opt) {
        std::fprintf(stderr, "famfs_fused: %s\n", opt.error().message.c_str());
        return 1;
    }
    return famfs::fused::run_server(opt.value());
}
