// Turns a topology host into a QEMU command line. QEMU runs with its working
// directory in the host's run directory, so socket and log paths are relative.
#pragma once

#include <string>
#include <vector>

#include "topology.h"

namespace lab {

struct HostLaunch {
    std::string shm_path;   // the shared memory file, same for every host
    std::string image_dir;  // vmlinuz + initramfs.cpio
    std::string system_uuid;
};

std::vector<std::string> qemu_argv(const Topology& t, const HostSpec& h, const HostLaunch& l);

}  // namespace lab
