// What a lab does on a stack, decided from the detected capabilities of its
// QEMU and guest kernel (stack.h). Every decision keeps the fact it rests on,
// so `harness caps` and RUN/stack.txt can say why.
#pragma once

#include <string>
#include <vector>

#include "result.h"
#include "stack.h"
#include "topology.h"

namespace lab {

struct Decision {
    std::string name;
    bool on = false;
    std::string why;
};

struct LabFeatures {
    // QEMU 7.2 drops writes through a host bridge with one root port; QEMUs
    // that pass HDM decoding through such a bridge (pxb-cxl
    // hdm_for_passthrough, >= 8.0) need no second, empty root port.
    bool cxl_second_root_port = false;
    // Kernels that invalidate CPU caches before committing a CXL region
    // refuse in a guest ("Failed to synchronize CPU cache state": no
    // invalidation through a hypervisor) unless built with the test bypass;
    // a guest CPU without the hypervisor bit takes the bare-metal path.
    bool cpu_without_hypervisor_bit = false;
    // memhp_default_state=offline: a kernel that onlines hot-added memory by
    // itself would make System RAM of a volatile region every guest shares.
    bool memhp_offline = false;
    // What `inject poison --method auto` uses: a method that reaches the
    // guest kernel's memory_failure() ("mce" or "hwpoison").
    std::string poison_method = "hwpoison";
    bool fuse_direct_io_mmap = false;  // guest kernel >= 6.6
    bool cxl_poison_list = false;      // QEMU cxl-inject-poison + guest poison-list reading
    bool cxl_media_events = false;     // QEMU cxl-inject-general-media-event + guest CXL events
    bool cxl_uncorrectable = false;    // QEMU cxl-inject-uncorrectable-errors (AER)
    bool cxl_ram_regions = false;      // QEMU volatile-memdev + guest kernel RAM regions

    std::vector<Decision> decisions;
};

LabFeatures decide_features(const Topology& t, const Stack& s);

// `inject poison --method auto`: HMP mce where the monitor has it and the
// guest CPU is Intel-vendor, else in-guest hwpoison. Both reach the guest's
// memory_failure(); cxl-inject-poison (a poison-list entry) never does.
std::string auto_poison_method(const Topology& t, const QemuCaps& q);

// A one-line error naming what the stack lacks for this topology.
Status check_stack_supports(const Topology& t, const Stack& s);

// The stack, its capabilities and the decisions, as `harness caps` prints them.
std::string describe_stack(const Stack& s, const LabFeatures& f);

}  // namespace lab
