// Turns a topology host into a QEMU command line. QEMU runs with its working
// directory in the host's run directory, so socket and log paths are relative.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "topology.h"

namespace lab {

struct HostLaunch {
    std::string qemu = "qemu-system-x86_64";
    std::string shm_path;   // the shared memory file, same for every host
    std::string image_dir;  // vmlinuz + initramfs.cpio
    std::string system_uuid;
    // Decided from the stack's capabilities (lab_features.h).
    bool cxl_second_root_port = true;
    bool memhp_offline = false;
    bool cpu_without_hypervisor_bit = false;
};

// The QOM id of the CXL type-3 device (QMP cxl-inject-* take its path).
const char* cxl_memdev_id(DeviceModel m);

// Where /dev/famfs0's byte 0 lies in the shared memory file (and so at which
// device physical address of a CXL memdev).
uint64_t device_data_offset(DeviceModel m);

std::vector<std::string> qemu_argv(const Topology& t, const HostSpec& h, const HostLaunch& l);

}  // namespace lab
