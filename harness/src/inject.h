// Fault injection into the shared memory as one guest sees it.
//
// Where a fault lands: a device offset of /dev/famfs0, given directly or as
// an offset inside a famfs file (resolved with `famfs getmap` in the guest).
// How poison is delivered (--method), each named for what it really does:
//   mce              HMP `mce` with a recoverable (SRAO) status at the guest-
//                    physical address: the guest's memory_failure() handles the
//                    page, and processes that asked for early kill get SIGBUS
//                    BUS_MCEERR_AO (needs a GenuineIntel guest CPU)
//   hwpoison         in-guest debugfs hwpoison/corrupt-pfn (memory_failure() too)
//   cxl-poison-list  QMP cxl-inject-poison (QEMU >= 8.1): an entry in the CXL
//                    device's poison list; no machine check, the data stays
//                    readable, the guest sees it only by reading the list
//   auto             mce where possible, else hwpoison (lab_features.h)
// Poison is a property of the memory, so by default it is delivered to every
// host of the lab (each guest's own guest-physical address of the same
// device offset); `only_host` limits it to the chosen guest, as with a
// poisoned cache line seen by one host.
// notify-failure is the explicit failure notification a famfs_fused server
// takes: "notify-failure REASON" written to MOUNT/.meta/.control on that host.
// general-media-event and uncorrectable-error are CXL RAS events of the
// chosen host's device (QMP cxl-inject-general-media-event, at the device
// offset; cxl-inject-uncorrectable-errors).
#pragma once

#include <cstdint>
#include <string>

#include "run_dir.h"

namespace lab {

struct InjectRequest {
    std::string host;
    std::string kind;  // poison | notify-failure | general-media-event | uncorrectable-error
    std::string file;  // famfs file in the guest; empty: offset is a device offset
    uint64_t offset = 0;
    std::string method;                // auto | mce | hwpoison | cxl-poison-list
    bool only_host = false;            // poison: deliver to `host` alone
    std::string mount = "/mnt/famfs";  // notify-failure: the famfs mount point
    std::string reason = "injected by harness";
};

Status inject_fault(const RunDir& run, const InjectRequest& req);

// Maps an offset inside a file to a device offset, from `famfs getmap`
// output (each extent a line "0xOFFSET<TAB>LENGTH").
Result<uint64_t> file_to_device_offset(const std::string& getmap, uint64_t file_offset);

}  // namespace lab
