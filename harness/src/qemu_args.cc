#include "qemu_args.h"

#include <initializer_list>

#include "text_util.h"

namespace lab {

namespace {

std::string mib(uint64_t bytes) {
    return std::to_string(bytes >> 20) + "M";
}

std::string machine_for(const Topology& t) {
    if (!t.machine.empty()) return t.machine;
    if (is_cxl(t.model)) return "q35,cxl=on";
    return t.model == DeviceModel::Nvdimm ? "pc,nvdimm=on" : "pc";
}

void add(std::vector<std::string>& a, std::initializer_list<std::string> words) {
    a.insert(a.end(), words);
}

std::string shared_backend(const Topology& t, const HostLaunch& l) {
    return "memory-backend-file,id=famfs-mem,share=on,mem-path=" + l.shm_path +
           ",size=" + mib(t.shared_size);
}

// The CXL recipe of docs/lab.md. A persistent region keeps its namespace in
// a label area per guest (lsa.raw, zeroed by the harness before every boot);
// a volatile region has none. The second, empty root port is only for QEMUs
// that drop writes through a host bridge with one root port.
void add_cxl(std::vector<std::string>& a, const Topology& t, const HostLaunch& l) {
    add(a, {"-object", shared_backend(t, l)});
    add(a, {"-device", "pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1"});
    add(a, {"-device", "cxl-rp,port=0,bus=cxl.1,id=cxl_rp0,chassis=0,slot=2"});
    if (l.cxl_second_root_port)
        add(a, {"-device", "cxl-rp,port=1,bus=cxl.1,id=cxl_rp1,chassis=0,slot=3"});
    if (t.model == DeviceModel::CxlVolatile) {
        add(a, {"-device", "cxl-type3,bus=cxl_rp0,volatile-memdev=famfs-mem,id=" +
                               std::string(cxl_memdev_id(t.model))});
    } else {
        add(a, {"-object", "memory-backend-file,id=famfs-lsa,share=on,mem-path=lsa.raw,size=" +
                               mib(t.lsa_size)});
        add(a, {"-device", "cxl-type3,bus=cxl_rp0,memdev=famfs-mem,lsa=famfs-lsa,id=" +
                               std::string(cxl_memdev_id(t.model))});
    }
    uint64_t window = 4ull << 30;
    while (window < t.shared_size) window <<= 1;
    add(a,
        {"-M", "cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=" + std::to_string(window >> 30) + "G"});
}

void add_shared_device(std::vector<std::string>& a, const Topology& t, const HostLaunch& l) {
    switch (t.model) {
        case DeviceModel::Cxl:
        case DeviceModel::CxlVolatile:
            add_cxl(a, t, l);
            break;
        case DeviceModel::Nvdimm:
            add(a, {"-object", shared_backend(t, l), "-device", "nvdimm,memdev=famfs-mem,id=nv0"});
            break;
        case DeviceModel::VirtioPmem:
            add(a, {"-object", shared_backend(t, l), "-device",
                    "virtio-pmem-pci,memdev=famfs-mem,id=vpmem0"});
            break;
        case DeviceModel::Ivshmem:
            add(a, {"-object", shared_backend(t, l), "-device",
                    "ivshmem-plain,memdev=famfs-mem,id=ivshmem0"});
            break;
    }
}

}  // namespace

const char* cxl_memdev_id(DeviceModel m) {
    return m == DeviceModel::CxlVolatile ? "cxl-vmem0" : "cxl-pmem0";
}

uint64_t device_data_offset(DeviceModel m) {
    // A devdax namespace on persistent memory starts with a 2 MiB info block.
    return m == DeviceModel::CxlVolatile || m == DeviceModel::Ivshmem ? 0 : 2ull << 20;
}

std::vector<std::string> qemu_argv(const Topology& t, const HostSpec& h, const HostLaunch& l) {
    std::vector<std::string> a = {l.qemu};
    std::string cpu = t.cpu + (l.cpu_without_hypervisor_bit ? ",hypervisor=off" : "");
    add(a, {"-name", h.name, "-machine", machine_for(t), "-cpu", cpu});
    add(a, {"-smp", std::to_string(h.cpus), "-m", mib(h.memory) + ",slots=2,maxmem=16G"});
    // -no-reboot turns a guest reboot (panic=-1, system_reset) into QEMU
    // exiting, which the harness notices instead of waiting on a spinning guest.
    add(a, {"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"});
    add(a, {"-kernel", l.image_dir + "/vmlinuz", "-initrd", l.image_dir + "/initramfs.cpio"});
    std::string append =
        "console=ttyS0 panic=-1 quiet lab.host=" + h.name + " lab.uuid=" + l.system_uuid;
    if (l.memhp_offline) append += " memhp_default_state=offline";
    if (!t.kernel_args.empty()) append += " " + t.kernel_args;
    add(a, {"-append", append});
    add(a, {"-chardev", "socket,id=serial0,path=serial.sock,server=on,wait=off,logfile=console.log",
            "-serial", "chardev:serial0"});
    add(a, {"-chardev", "socket,id=qmp0,path=qmp.sock,server=on,wait=off", "-mon",
            "chardev=qmp0,mode=control"});
    add(a, {"-device", "virtio-serial-pci,id=vser0", "-chardev",
            "socket,id=qga0,path=qga.sock,server=on,wait=off", "-device",
            "virtserialport,bus=vser0.0,chardev=qga0,name=org.qemu.guest_agent.0"});
    add_shared_device(a, t, l);
    for (const auto& w : split(t.extra_args, ' ')) {
        if (!w.empty()) a.push_back(w);
    }
    return a;
}

}  // namespace lab
