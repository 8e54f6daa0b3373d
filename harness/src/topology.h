// A topology describes one lab: its hosts and the memory they share.
// The file format is documented in topologies/README.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace lab {

// Cxl: a persistent CXL type-3 region (label area, pmem namespace, devdax);
// CxlVolatile: a volatile (RAM) CXL region turned into devdax with daxctl.
enum class DeviceModel { Cxl, CxlVolatile, Nvdimm, VirtioPmem, Ivshmem };

const char* model_name(DeviceModel m);
inline bool is_cxl(DeviceModel m) {
    return m == DeviceModel::Cxl || m == DeviceModel::CxlVolatile;
}

struct HostSpec {
    std::string name;
    bool master = false;
    uint64_t memory = 0;
    int cpus = 1;
};

struct Topology {
    std::string name;
    std::string description;
    std::string cpu = "qemu64,vendor=GenuineIntel";
    std::string machine;  // empty: derived from the device model
    std::string extra_args;
    std::string kernel_args;      // appended to the guest kernel command line
    std::string qemu = "system";  // the stack: see stack.h; `harness up --qemu/--kernel` override
    std::string kernel = "6.1";
    DeviceModel model = DeviceModel::Nvdimm;
    uint64_t shared_size = 1ull << 30;
    uint64_t lsa_size = 256ull << 20;
    std::vector<HostSpec> hosts;

    const HostSpec* find_host(const std::string& host) const;
    const HostSpec& master() const;
};

Result<Topology> parse_topology(const std::string& text, const std::string& name);
Result<Topology> load_topology_file(const std::string& path);

// Accepts a path, or a name looked up in $LAB_TOPOLOGIES, ./topologies and the
// source tree's topologies/ folder.
Result<std::string> find_topology(const std::string& name_or_path);

}  // namespace lab
