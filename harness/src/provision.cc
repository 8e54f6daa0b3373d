#include "provision.h"

namespace lab {

namespace {

// Device nodes and sysfs entries appear asynchronously after probing.
const char* kHelpers = R"SH(set -u
wait_for() { i=0; while [ ! -e "$1" ]; do i=$((i+1)); [ $i -gt 300 ] && { echo "timed out waiting for $1" >&2; return 1; }; sleep 0.05; done; }
retry() { n=0; until "$@"; do n=$((n+1)); [ $n -ge 20 ] && return 1; sleep 0.5; done; }
)SH";

const char* kLinkDax = R"SH(wait_for /dev/dax0.0 || exit 1
ln -sfn /dev/dax0.0 /dev/famfs0
echo "famfs0 -> /dev/dax0.0 size=$(cat /sys/bus/dax/devices/dax0.0/size)"
)SH";

std::string nvdimm_script(Role role) {
    std::string s = "wait_for /sys/bus/nd/devices/namespace0.0 || exit 1\n";
    if (role == Role::Create) {
        s += "[ -e /dev/dax0.0 ] || ndctl create-namespace -f -e namespace0.0 -m devdax --map=mem "
             ">/dev/null || exit 1\n";
    } else {
        // This guest probed the namespace before the creator wrote its info
        // block; re-enabling the region makes it find the devdax namespace.
        s += "if [ ! -e /dev/dax0.0 ]; then ndctl disable-region all >/dev/null 2>&1; "
             "ndctl enable-region all >/dev/null 2>&1; fi\n";
    }
    return s + kLinkDax;
}

// Workaround (3) of docs/lab.md: the creator makes a devdax namespace with a
// fixed uuid; the others make a raw one with the same uuid, which fails on
// paper but exposes the creator's devdax device. Check the device, not ndctl.
std::string cxl_script(Role role, const std::string& uuid) {
    std::string s =
        "wait_for /sys/bus/cxl/devices/mem0 || exit 1\n"
        "wait_for /sys/bus/cxl/devices/decoder0.0 || exit 1\n"
        "[ -e /sys/bus/nd/devices/region0 ] || retry cxl create-region -m -d decoder0.0 -w 1 -t "
        "pmem mem0 >/dev/null || exit 1\n"
        "wait_for /sys/bus/nd/devices/region0 || exit 1\n";
    if (role == Role::Create) {
        s += "[ -e /dev/dax0.0 ] || ndctl create-namespace -r region0 -m devdax --map=mem -u " +
             uuid + " >/dev/null || exit 1\n";
    } else {
        s += "[ -e /dev/dax0.0 ] || ndctl create-namespace -r region0 -m raw -u " + uuid +
             " >/dev/null 2>&1 || true\n";
    }
    return s + kLinkDax;
}

// ivshmem has no driver: famfs maps the BAR through sysfs.
const char* kIvshmemScript = R"SH(dev=""
for d in /sys/bus/pci/devices/*; do
    [ "$(cat $d/vendor)" = 0x1af4 ] && [ "$(cat $d/device)" = 0x1110 ] && dev=$d
done
[ -n "$dev" ] || { echo "no ivshmem PCI device" >&2; exit 1; }
echo 1 > $dev/enable 2>/dev/null
ln -sfn $dev/resource2 /dev/famfs0
echo "famfs0 -> $dev/resource2 size=$(stat -L -c %s $dev/resource2)"
)SH";

// A RAM region: every guest makes its own region over the shared window and
// turns its dax device into devdax (never System RAM: the guests boot with
// memory hot-plug left offline where the kernel would online it). The region
// is made through the kernel's sysfs ABI, as the cxl tool does: Debian 12's
// cxl (ndctl 76.1) refuses RAM regions ("not supported yet").
const char* kCxlVolatileScript = R"SH(wait_for /sys/bus/cxl/devices/mem0 || exit 1
wait_for /sys/bus/cxl/devices/decoder0.0 || exit 1
cxl=/sys/bus/cxl/devices
if [ ! -e $cxl/region0 ]; then
    ep=$(ls -d $cxl/endpoint* 2>/dev/null | head -n1)
    [ -n "$ep" ] || { echo "no CXL endpoint port" >&2; exit 1; }
    dec=$cxl/decoder${ep##*/endpoint}.0
    size=$(cat $cxl/mem0/ram/size)
    r=$(cat $cxl/decoder0.0/create_ram_region) &&
    echo "$r" > $cxl/decoder0.0/create_ram_region &&
    echo 1 > $cxl/$r/interleave_ways &&
    cat $cxl/decoder0.0/interleave_granularity > $cxl/$r/interleave_granularity &&
    echo ram > $dec/mode &&
    echo "$size" > $dec/dpa_size &&
    echo "$size" > $cxl/$r/size &&
    echo "${dec##*/}" > $cxl/$r/target0 &&
    echo 1 > $cxl/$r/commit &&
    echo "$r" > /sys/bus/cxl/drivers/cxl_region/bind || { echo "creating the RAM region failed" >&2; exit 1; }
fi
wait_for /sys/bus/dax/devices/dax0.0 || exit 1
if [ "$(basename "$(readlink /sys/bus/dax/devices/dax0.0/driver)")" != device_dax ]; then
    daxctl reconfigure-device -m devdax -f dax0.0 >/dev/null 2>&1 || exit 1
fi
)SH";

}  // namespace

const char* const kGuestCapsProbe =
    R"SH(has() { if [ -e "$2" ]; then echo "  $1 yes"; else echo "  $1 no"; fi; }
echo "  kernel $(uname -r)"
has "CXL memdev (mem0)" /sys/bus/cxl/devices/mem0
has "CXL poison list (trigger_poison_list)" /sys/bus/cxl/devices/mem0/trigger_poison_list
has "CXL poison debugfs (inject_poison)" /sys/kernel/debug/cxl/mem0/inject_poison
has "CXL trace events" /sys/kernel/tracing/events/cxl
has "hwpoison debugfs (corrupt-pfn)" /sys/kernel/debug/hwpoison/corrupt-pfn
has "hard_offline_page" /sys/devices/system/memory/hard_offline_page
has "dax device (dax0.0)" /dev/dax0.0
)SH";

std::string provision_script(const Topology& t, Role role, const std::string& namespace_uuid) {
    std::string s = kHelpers;
    switch (t.model) {
        case DeviceModel::Nvdimm:
        case DeviceModel::VirtioPmem:
            return s + nvdimm_script(role);
        case DeviceModel::Cxl:
            return s + cxl_script(role, namespace_uuid);
        case DeviceModel::CxlVolatile:
            return s + kCxlVolatileScript + kLinkDax;
        case DeviceModel::Ivshmem:
            return s + kIvshmemScript;
    }
    return s;
}

}  // namespace lab
