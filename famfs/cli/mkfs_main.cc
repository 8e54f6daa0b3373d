// mkfs.famfs: see mkfs.cc.
#include "commands.h"

int main(int argc, char** argv) {
    return famfs::cli::mkfs_main(argc, argv);
}
