#include "lab_features.h"

#include <cstdio>

namespace lab {

namespace {

std::string yes_no(bool b) {
    return b ? "yes" : "no";
}

bool intel_cpu(const Topology& t) {
    return t.cpu.find("GenuineIntel") != std::string::npos;
}

// Kernel features that no configuration option names: the release they
// arrived in (Linux's own history) is the only evidence a kernel image has.
struct KernelFeature {
    const char* what;
    int major, minor;
    const char* config;  // nullptr: none needed beyond the release
};

constexpr KernelFeature kDirectIoMmap = {"FUSE_DIRECT_IO_ALLOW_MMAP", 6, 6, "CONFIG_FUSE_FS"};
constexpr KernelFeature kRamRegions = {"CXL RAM regions", 6, 3, "CONFIG_DEV_DAX_CXL"};
constexpr KernelFeature kPoisonList = {"CXL poison list (trigger_poison_list, cxl_poison)", 6, 5,
                                       "CONFIG_CXL_MEM"};
constexpr KernelFeature kMediaEvents = {"CXL event records (cxl_general_media)", 6, 3,
                                        "CONFIG_CXL_PCI"};

bool kernel_has(const KernelCaps& k, const KernelFeature& f) {
    return k.at_least(f.major, f.minor) && (!f.config || k.configured(f.config));
}

bool auto_onlines_memory(const KernelCaps& k) {
    return k.configured("CONFIG_MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO") ||
           k.configured("CONFIG_MEMORY_HOTPLUG_DEFAULT_ONLINE");
}

}  // namespace

std::string auto_poison_method(const Topology& t, const QemuCaps& q) {
    return q.has_command("human-monitor-command") && intel_cpu(t) ? "mce" : "hwpoison";
}

LabFeatures decide_features(const Topology& t, const Stack& s) {
    const QemuCaps& q = s.qemu_caps;
    const KernelCaps& k = s.kernel_caps;
    LabFeatures f;
    auto record = [&](const std::string& name, bool on, const std::string& why) {
        f.decisions.push_back(Decision{name, on, why});
        return on;
    };
    bool passthrough = q.has_property("pxb-cxl", "hdm_for_passthrough");
    f.cxl_second_root_port =
        record("cxl second root port", is_cxl(t.model) && !passthrough,
               !is_cxl(t.model) ? "not a CXL lab"
               : passthrough    ? "pxb-cxl passes HDM decoding through a single root port"
                                : "pxb-cxl has no hdm_for_passthrough: one root port drops writes");
    if (t.model == DeviceModel::Cxl) {
        record("cxl per-guest zeroed label area", true,
               "a persistent region's namespace lives in each guest's own label area");
        record("cxl fixed namespace uuid, raw attach on clients", true,
               "the clients' label areas hold no namespace of the master's");
    }
    bool invalidates = k.knows("CONFIG_CXL_REGION_INVALIDATION_TEST") &&
                       !k.configured("CONFIG_CXL_REGION_INVALIDATION_TEST");
    f.cpu_without_hypervisor_bit =
        record("guest CPU without hypervisor bit", is_cxl(t.model) && invalidates,
               !is_cxl(t.model) ? "not a CXL lab"
               : invalidates    ? "the kernel commits a region only after a CPU cache "
                                  "invalidation it refuses under a hypervisor"
                                : "the kernel commits regions without a cache invalidation");
    bool hotplug_risk = t.model == DeviceModel::CxlVolatile && auto_onlines_memory(k);
    f.memhp_offline =
        record("memhp_default_state=offline", hotplug_risk,
               hotplug_risk ? "the guest kernel onlines hot-added memory by itself"
                            : "no shared RAM region, or the kernel leaves it offline");
    f.poison_method = auto_poison_method(t, q);
    record("auto poison method " + f.poison_method, true,
           f.poison_method == "mce"
               ? "HMP mce with a GenuineIntel CPU reaches the guest's memory_failure()"
               : "no HMP or no Intel-vendor CPU: in-guest hwpoison reaches memory_failure()");
    f.fuse_direct_io_mmap = record("FUSE direct I/O with shared mmap", kernel_has(k, kDirectIoMmap),
                                   "guest kernel " + k.release);
    f.cxl_poison_list =
        record("CXL poison list", q.has_command("cxl-inject-poison") && kernel_has(k, kPoisonList),
               "QEMU cxl-inject-poison " + yes_no(q.has_command("cxl-inject-poison")) +
                   ", guest poison-list reading " + yes_no(kernel_has(k, kPoisonList)));
    f.cxl_media_events =
        record("CXL general media events",
               q.has_command("cxl-inject-general-media-event") && kernel_has(k, kMediaEvents),
               "QEMU cxl-inject-general-media-event " +
                   yes_no(q.has_command("cxl-inject-general-media-event")) + ", guest CXL events " +
                   yes_no(kernel_has(k, kMediaEvents)));
    f.cxl_uncorrectable =
        record("CXL uncorrectable errors", q.has_command("cxl-inject-uncorrectable-errors"),
               "QEMU cxl-inject-uncorrectable-errors " +
                   yes_no(q.has_command("cxl-inject-uncorrectable-errors")));
    bool volatile_dev = q.has_property("cxl-type3", "volatile-memdev");
    f.cxl_ram_regions =
        record("CXL volatile (RAM) regions", volatile_dev && kernel_has(k, kRamRegions),
               "QEMU volatile-memdev " + yes_no(volatile_dev) + ", guest RAM regions " +
                   yes_no(kernel_has(k, kRamRegions)));
    return f;
}

Status check_stack_supports(const Topology& t, const Stack& s) {
    const QemuCaps& q = s.qemu_caps;
    std::string qemu = "QEMU " + q.version + " (" + s.qemu_choice + ")";
    auto need_device = [&](const char* type) -> Status {
        if (q.has_device(type)) return ok();
        return fail(qemu + " has no device " + type + ", which topology " + t.name +
                    " needs (choose another --qemu)");
    };
    switch (t.model) {
        case DeviceModel::Cxl:
        case DeviceModel::CxlVolatile:
            for (const char* type : {"cxl-type3", "pxb-cxl", "cxl-rp"}) {
                if (auto st = need_device(type); !st) return st;
            }
            break;
        case DeviceModel::Nvdimm:
            return need_device("nvdimm");
        case DeviceModel::VirtioPmem:
            return need_device("virtio-pmem-pci");
        case DeviceModel::Ivshmem:
            return need_device("ivshmem-plain");
    }
    if (t.model != DeviceModel::CxlVolatile) return ok();
    if (!q.has_property("cxl-type3", "volatile-memdev"))
        return fail(qemu + " has no cxl-type3 volatile-memdev, which topology " + t.name +
                    " needs (use --qemu 10 or newer)");
    if (!kernel_has(s.kernel_caps, kRamRegions))
        return fail("guest kernel " + s.kernel_caps.release +
                    " makes no CXL RAM regions, which topology " + t.name +
                    " needs (use --kernel 6.12)");
    return ok();
}

std::string describe_stack(const Stack& s, const LabFeatures& f) {
    const QemuCaps& q = s.qemu_caps;
    const KernelCaps& k = s.kernel_caps;
    std::string out;
    auto line = [&](const std::string& key, const std::string& value) {
        char buf[512];
        std::snprintf(buf, sizeof buf, "%-44s %s\n", key.c_str(), value.c_str());
        out += buf;
    };
    line("qemu", s.qemu_choice + ": " + s.qemu + " (" + q.version + ")");
    line("kernel", s.kernel_choice + ": " + k.release + " (" + s.image_dir + ")");
    out += "\nQEMU commands\n";
    for (const char* c : {"cxl-inject-poison", "cxl-inject-general-media-event",
                          "cxl-inject-dram-event", "cxl-inject-uncorrectable-errors",
                          "cxl-inject-correctable-error", "human-monitor-command", "inject-nmi"})
        line(std::string("  ") + c, yes_no(q.has_command(c)));
    out += "\nQEMU devices and properties\n";
    for (const auto& [type, prop] : {std::pair<const char*, const char*>{"cxl-type3", nullptr},
                                     {"cxl-type3", "volatile-memdev"},
                                     {"cxl-type3", "persistent-memdev"},
                                     {"cxl-type3", "lsa"},
                                     {"pxb-cxl", "hdm_for_passthrough"},
                                     {"nvdimm", nullptr},
                                     {"virtio-pmem-pci", nullptr},
                                     {"ivshmem-plain", nullptr}}) {
        line(std::string("  ") + type + (prop ? std::string(" ") + prop : ""),
             yes_no(prop ? q.has_property(type, prop) : q.has_device(type)));
    }
    out += "\nGuest kernel\n";
    for (const KernelFeature* kf : {&kDirectIoMmap, &kRamRegions, &kPoisonList, &kMediaEvents})
        line(std::string("  ") + kf->what, yes_no(kernel_has(k, *kf)));
    line("  memory_failure() (CONFIG_MEMORY_FAILURE)",
         yes_no(k.configured("CONFIG_MEMORY_FAILURE")));
    line("  hwpoison_inject", yes_no(k.configured("CONFIG_HWPOISON_INJECT")));
    line("  onlines hot-added memory itself", yes_no(auto_onlines_memory(k)));
    out += "\nDecisions\n";
    for (const auto& d : f.decisions)
        out += "  " + d.name + " = " + (d.on ? "on" : "off") + " (" + d.why + ")\n";
    return out;
}

}  // namespace lab
