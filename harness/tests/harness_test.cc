// Unit tests for the lab harness pieces that run without QEMU.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "args.h"
#include "base64.h"
#include "host_access.h"
#include "inject.h"
#include "json.h"
#include "lab.h"
#include "lab_features.h"
#include "provision.h"
#include "qemu_args.h"
#include "run_dir.h"
#include "stack.h"
#include "text_util.h"
#include "topology.h"

namespace lab {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

HostLaunch launch(const std::string& shm, const std::string& image, const std::string& uuid) {
    HostLaunch l;
    l.shm_path = shm;
    l.image_dir = image;
    l.system_uuid = uuid;
    return l;
}

size_t count_prefix(const std::vector<std::string>& v, const std::string& prefix) {
    return static_cast<size_t>(std::count_if(
        v.begin(), v.end(), [&](const std::string& w) { return starts_with(w, prefix); }));
}

TEST(Json, ParsesQmpReply) {
    auto j = parse_json(R"({"return": {"pid": 42, "ok": true, "s": "a\"b\u0041"}, "x": [1, 2]})");
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)["return"]["pid"].as_int(), 42);
    EXPECT_TRUE((*j)["return"]["ok"].as_bool());
    EXPECT_EQ((*j)["return"]["s"].as_string(), "a\"bA");
    EXPECT_EQ((*j)["x"].items().size(), 2u);
    EXPECT_TRUE((*j)["missing"]["deeper"].is_null());
}

TEST(Json, RejectsGarbageAndRoundTrips) {
    EXPECT_FALSE(parse_json("{\"a\": }").ok());
    EXPECT_FALSE(parse_json("{} trailing").ok());
    Json o = Json::object().set("k", Json::string("line\nbreak")).set("n", Json::number(-5));
    auto back = parse_json(o.dump());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ((*back)["k"].as_string(), "line\nbreak");
    EXPECT_EQ((*back)["n"].as_int(), -5);
}

TEST(Base64, RoundTripsAllLengths) {
    std::string data;
    for (int i = 0; i < 300; ++i) {
        EXPECT_EQ(base64_decode(base64_encode(data)), data);
        data += static_cast<char>(i * 37);
    }
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
}

TEST(Strings, SizesAndQuoting) {
    EXPECT_EQ(parse_size("1G"), 1ull << 30);
    EXPECT_EQ(parse_size("64k"), 64ull << 10);
    EXPECT_EQ(parse_size("0x10"), 16u);
    EXPECT_FALSE(parse_size("12x").has_value());
    EXPECT_EQ(shell_quote("plain/path-1"), "plain/path-1");
    EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
    EXPECT_EQ(shell_quote(""), "''");
}

TEST(Args, OptionsFlagsAndRest) {
    auto a = parse_args({"exec", "--host", "node2", "--timeout=5", "--", "ls", "--help"});
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->positional, std::vector<std::string>{"exec"});
    EXPECT_EQ(a->get("--host"), "node2");
    EXPECT_EQ(a->get("--timeout"), "5");
    EXPECT_EQ(a->rest, (std::vector<std::string>{"ls", "--help"}));
    EXPECT_FALSE(parse_args({"--bogus"}).ok());
    EXPECT_FALSE(parse_args({"--host"}).ok());
}

TEST(Args, VersionAndHelpAreFlagsAnywhereBeforeTheRest) {
    auto a = parse_args({"status", "--version"});
    ASSERT_TRUE(a.ok());
    EXPECT_TRUE(a->flag("--version"));
    auto h = parse_args({"up", "-h"});
    ASSERT_TRUE(h.ok());
    EXPECT_TRUE(h->flag("--help"));
    auto rest = parse_args({"exec", "--", "prog", "--version"});
    ASSERT_TRUE(rest.ok());
    EXPECT_FALSE(rest->flag("--version"));
}

TEST(Errors, UnknownTopologySuggestsTheListingCommand) {
    auto t = find_topology("no-such-topology-name");
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().message.find("no topology 'no-such-topology-name'"), std::string::npos)
        << t.error().message;
    EXPECT_NE(t.error().message.find("'harness topologies' lists them"), std::string::npos)
        << t.error().message;
}

TEST(Errors, PausedHostSuggestsCont) {
    EXPECT_TRUE(check_vm_runs("node2", "running").ok());
    EXPECT_TRUE(check_vm_runs("node2", "").ok()) << "an unknown state lets the exec try";
    auto paused = check_vm_runs("node2", "paused");
    ASSERT_FALSE(paused.ok());
    EXPECT_NE(paused.error().message.find("host node2 is paused"), std::string::npos);
    EXPECT_NE(paused.error().message.find("harness cont --host node2"), std::string::npos)
        << paused.error().message;
    auto dead = check_vm_runs("node3", "guest-panicked");
    ASSERT_FALSE(dead.ok());
    EXPECT_NE(dead.error().message.find("'guest-panicked'"), std::string::npos)
        << dead.error().message;
}

const char* kTwoHosts = R"(
# comment
[lab]
memory = 512M
[shared]
model = cxl
size = 1G
[host a]
master = yes
[host b]
memory = 1G
)";

TEST(Topology, ParsesHostsAndDefaults) {
    auto t = parse_topology(kTwoHosts, "t");
    ASSERT_TRUE(t.ok()) << t.error().message;
    EXPECT_EQ(t->model, DeviceModel::Cxl);
    ASSERT_EQ(t->hosts.size(), 2u);
    EXPECT_EQ(t->master().name, "a");
    EXPECT_EQ(t->hosts[0].memory, 512ull << 20);
    EXPECT_EQ(t->hosts[1].memory, 1ull << 30);
    EXPECT_NE(t->cpu.find("GenuineIntel"), std::string::npos);
}

TEST(Topology, RejectsMistakes) {
    EXPECT_FALSE(parse_topology("[shared]\nmodel = cxl\n[host a]\n", "t").ok());  // no master
    EXPECT_FALSE(parse_topology("[shared]\nmodel = foo\n[host a]\nmaster = yes\n", "t").ok());
    EXPECT_FALSE(
        parse_topology("[shared]\nmodel = ivshmem\nsize = 768M\n[host a]\nmaster = yes\n", "t")
            .ok());
    EXPECT_FALSE(
        parse_topology("[shared]\nmodel = cxl\nsize = 1G\ncolour = red\n[host a]\nmaster = yes\n",
                       "t")
            .ok());
    EXPECT_FALSE(
        parse_topology("[shared]\nmodel = nvdimm\n[host a]\nmaster = yes\n[host a]\n", "t").ok());
}

TEST(Topology, ShippedFilesParse) {
    size_t shipped = 0;
    for (const auto& e : std::filesystem::directory_iterator(LAB_TOPOLOGY_DIR)) {
        if (e.path().extension() != ".conf") continue;
        auto t = load_topology_file(e.path().string());
        ASSERT_TRUE(t.ok()) << e.path() << ": " << t.error().message;
        EXPECT_EQ(t->name, e.path().stem().string());
        ++shipped;
    }
    EXPECT_GE(shipped, 6u) << "cxl2, cxl4, cxl2v, cxl4v, nvdimm2, ivshmem2";
}

TEST(QemuArgs, CxlCarriesTheWorkarounds) {
    auto t = parse_topology(kTwoHosts, "t");
    ASSERT_TRUE(t.ok());
    auto argv = qemu_argv(*t, t->hosts[1], launch("/dev/shm/x", "/img", "uuid-1"));
    EXPECT_EQ(count_prefix(argv, "cxl-rp,"), 2u);  // workaround 1: second, empty root port
    EXPECT_TRUE(
        contains(argv, "cxl-type3,bus=cxl_rp0,memdev=famfs-mem,lsa=famfs-lsa,id=cxl-pmem0"));
    EXPECT_EQ(count_prefix(argv, "memory-backend-file,id=famfs-lsa,share=on,mem-path=lsa.raw"), 1u);
    EXPECT_TRUE(contains(argv, "-no-reboot"));
    EXPECT_TRUE(contains(argv, "q35,cxl=on"));
    EXPECT_EQ(count_prefix(argv, "memory-backend-file,id=famfs-mem,share=on,mem-path=/dev/shm/x"),
              1u);
}

TEST(QemuArgs, IvshmemUsesPlainPc) {
    auto t = parse_topology("[shared]\nmodel = ivshmem\n[host a]\nmaster = yes\n", "t");
    ASSERT_TRUE(t.ok());
    auto argv = qemu_argv(*t, t->hosts[0], launch("/dev/shm/x", "/img", "u"));
    EXPECT_TRUE(contains(argv, "pc"));
    EXPECT_TRUE(contains(argv, "ivshmem-plain,memdev=famfs-mem,id=ivshmem0"));
}

TEST(Provision, CxlCreateAndAttachDiffer) {
    auto t = parse_topology(kTwoHosts, "t");
    ASSERT_TRUE(t.ok());
    std::string create = provision_script(*t, Role::Create, "U-1");
    std::string attach = provision_script(*t, Role::Attach, "U-1");
    EXPECT_NE(create.find("-m devdax --map=mem -u U-1"), std::string::npos);
    EXPECT_NE(attach.find("-m raw -u U-1"), std::string::npos);
    EXPECT_NE(attach.find("ln -sfn /dev/dax0.0 /dev/famfs0"), std::string::npos);
}

TEST(Inject, FileOffsetToDeviceOffset) {
    std::string getmap =
        "File:     /mnt/famfs/f\n\tsize:    12288\n\textents: 2\n"
        "\t\t0x800000\t8192\n\t\t0x1000000\t4096\n";
    EXPECT_EQ(file_to_device_offset(getmap, 0).value(), 0x800000u);
    EXPECT_EQ(file_to_device_offset(getmap, 8191).value(), 0x800000u + 8191);
    EXPECT_EQ(file_to_device_offset(getmap, 8192).value(), 0x1000000u);
    EXPECT_FALSE(file_to_device_offset(getmap, 12288).ok());
}

// What `harness caps` finds on Debian 12's QEMU 7.2 and on QEMU 10.0.
QemuCaps qemu_7_2() {
    QemuCaps q;
    q.version = "7.2.0";
    q.commands = {"human-monitor-command", "inject-nmi", "query-commands"};
    q.devices = {"cxl-type3", "pxb-cxl", "cxl-rp", "nvdimm", "virtio-pmem-pci", "ivshmem-plain"};
    q.properties["cxl-type3"] = {"memdev", "lsa", "id"};
    q.properties["pxb-cxl"] = {"bus_nr"};
    return q;
}

QemuCaps qemu_10() {
    QemuCaps q = qemu_7_2();
    q.version = "10.0.2";
    q.commands.insert(
        {"cxl-inject-poison", "cxl-inject-general-media-event", "cxl-inject-uncorrectable-errors"});
    q.properties["cxl-type3"].insert({"volatile-memdev", "persistent-memdev"});
    q.properties["pxb-cxl"].insert("hdm_for_passthrough");
    return q;
}

Stack stack_of(const QemuCaps& q, const std::string& release, const std::string& config) {
    Stack s;
    s.qemu_choice = "test";
    s.qemu_caps = q;
    s.kernel_caps = parse_kernel_caps(release, config);
    return s;
}

const char* kConfig612 =
    "CONFIG_FUSE_FS=y\nCONFIG_CXL_MEM=m\nCONFIG_CXL_PCI=m\nCONFIG_DEV_DAX_CXL=m\n"
    "CONFIG_MEMORY_FAILURE=y\nCONFIG_MHP_DEFAULT_ONLINE_TYPE_ONLINE_AUTO=y\n"
    "# CONFIG_MHP_DEFAULT_ONLINE_TYPE_OFFLINE is not set\n"
    "# CONFIG_CXL_REGION_INVALIDATION_TEST is not set\n";
const char* kConfig61 =
    "CONFIG_FUSE_FS=m\nCONFIG_CXL_MEM=m\nCONFIG_CXL_PCI=m\nCONFIG_MEMORY_FAILURE=y\n";

Topology topology(const std::string& text) {
    auto t = parse_topology(text, "t");
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t.ok() ? *t : Topology{};
}

const char* kVolatile =
    "[lab]\nqemu = 10\nkernel = 6.12\n[shared]\nmodel = cxl-volatile\n"
    "size = 512M\n[host a]\nmaster = yes\n";

TEST(Stack, KernelCapsFromReleaseAndConfig) {
    auto k = parse_kernel_caps("6.12.48+deb12-amd64\n", kConfig612);
    EXPECT_EQ(k.release, "6.12.48+deb12-amd64");
    EXPECT_TRUE(k.at_least(6, 6));
    EXPECT_FALSE(k.at_least(6, 13));
    EXPECT_TRUE(k.configured("CONFIG_CXL_MEM"));
    EXPECT_FALSE(k.configured("CONFIG_MHP_DEFAULT_ONLINE_TYPE_OFFLINE"));
    EXPECT_TRUE(k.knows("CONFIG_MHP_DEFAULT_ONLINE_TYPE_OFFLINE"));
    EXPECT_FALSE(k.knows("CONFIG_NOT_THERE"));
}

TEST(Stack, KernelChoiceIsCheckedAndImageMustExist) {
    auto bad = resolve_image("/nonexistent", "banana");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("unknown kernel 'banana'"), std::string::npos);
    auto missing = resolve_image("/nonexistent", "6.12");
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message.find("make vm-image LAB_KERNELS=6.12"), std::string::npos);
}

TEST(Features, OldStackKeepsTheWorkaroundsAndNamesNoCxlRas) {
    Topology t = topology(kTwoHosts);
    LabFeatures f = decide_features(t, stack_of(qemu_7_2(), "6.1.0-37-amd64", kConfig61));
    EXPECT_TRUE(f.cxl_second_root_port);
    EXPECT_FALSE(f.memhp_offline);
    EXPECT_EQ(f.poison_method, "mce");
    EXPECT_FALSE(f.fuse_direct_io_mmap);
    EXPECT_FALSE(f.cxl_poison_list);
    EXPECT_FALSE(f.cxl_media_events);
    EXPECT_FALSE(f.cxl_ram_regions);
    EXPECT_FALSE(f.cpu_without_hypervisor_bit);
}

TEST(Features, NewStackDetectsPassthroughAndCxlRas) {
    Topology t = topology(kTwoHosts);
    LabFeatures f = decide_features(t, stack_of(qemu_10(), "6.12.48+deb12-amd64", kConfig612));
    EXPECT_FALSE(f.cxl_second_root_port);
    EXPECT_TRUE(f.cpu_without_hypervisor_bit);
    EXPECT_TRUE(f.fuse_direct_io_mmap);
    EXPECT_TRUE(f.cxl_poison_list);
    EXPECT_TRUE(f.cxl_media_events);
    EXPECT_TRUE(f.cxl_uncorrectable);
    EXPECT_TRUE(f.cxl_ram_regions);
    EXPECT_FALSE(f.memhp_offline);  // no shared RAM region in this topology
    EXPECT_TRUE(decide_features(topology(kVolatile), stack_of(qemu_10(), "6.12.1", kConfig612))
                    .memhp_offline);
}

TEST(Features, AutoPoisonReachesMemoryFailureNeverThePoisonList) {
    Topology intel = topology(kTwoHosts);
    EXPECT_EQ(auto_poison_method(intel, qemu_10()), "mce");
    Topology amd = intel;
    amd.cpu = "qemu64";
    EXPECT_EQ(auto_poison_method(amd, qemu_10()), "hwpoison");
    QemuCaps no_hmp = qemu_10();
    no_hmp.commands.erase("human-monitor-command");
    EXPECT_EQ(auto_poison_method(intel, no_hmp), "hwpoison");
}

TEST(Features, UnsupportedTopologyIsRefusedWithAHint) {
    Topology v = topology(kVolatile);
    auto old_qemu = check_stack_supports(v, stack_of(qemu_7_2(), "6.12.1", kConfig612));
    ASSERT_FALSE(old_qemu.ok());
    EXPECT_NE(old_qemu.error().message.find("volatile-memdev"), std::string::npos);
    EXPECT_NE(old_qemu.error().message.find("--qemu 10"), std::string::npos);
    auto old_kernel = check_stack_supports(v, stack_of(qemu_10(), "6.1.0-37-amd64", kConfig61));
    ASSERT_FALSE(old_kernel.ok());
    EXPECT_NE(old_kernel.error().message.find("--kernel 6.12"), std::string::npos);
    EXPECT_TRUE(check_stack_supports(v, stack_of(qemu_10(), "6.12.1", kConfig612)).ok());
    QemuCaps no_nvdimm = qemu_10();
    no_nvdimm.devices.erase("nvdimm");
    auto nv = check_stack_supports(topology("[shared]\nmodel = nvdimm\n[host a]\nmaster = yes\n"),
                                   stack_of(no_nvdimm, "6.1.0", kConfig61));
    ASSERT_FALSE(nv.ok());
    EXPECT_NE(nv.error().message.find("no device nvdimm"), std::string::npos);
}

TEST(QemuArgs, NewQemuNeedsOneRootPortAndVolatileHasNoLabels) {
    Topology v = topology(kVolatile);
    EXPECT_EQ(v.qemu, "10");
    EXPECT_EQ(v.kernel, "6.12");
    HostLaunch l = launch("/dev/shm/x", "/img", "u");
    l.qemu = "/cache/qemu-10/qemu-system-x86_64";
    l.cxl_second_root_port = false;
    l.memhp_offline = true;
    l.cpu_without_hypervisor_bit = true;
    auto argv = qemu_argv(v, v.hosts[0], l);
    EXPECT_EQ(argv.front(), l.qemu);
    EXPECT_TRUE(contains(argv, "qemu64,vendor=GenuineIntel,hypervisor=off"));
    EXPECT_EQ(count_prefix(argv, "cxl-rp,"), 1u);
    EXPECT_TRUE(contains(argv, "cxl-type3,bus=cxl_rp0,volatile-memdev=famfs-mem,id=cxl-vmem0"));
    EXPECT_EQ(count_prefix(argv, "memory-backend-file,id=famfs-lsa"), 0u);
    auto append = std::find(argv.begin(), argv.end(), "-append");
    ASSERT_NE(append, argv.end());
    EXPECT_NE((append + 1)->find("memhp_default_state=offline"), std::string::npos);
    EXPECT_EQ(device_data_offset(DeviceModel::CxlVolatile), 0u);
    EXPECT_EQ(device_data_offset(DeviceModel::Cxl), 2u << 20);
}

TEST(Provision, VolatileRegionBecomesDevdax) {
    std::string s = provision_script(topology(kVolatile), Role::Attach, "U");
    EXPECT_NE(s.find("/create_ram_region"), std::string::npos);
    EXPECT_NE(s.find("echo ram > $dec/mode"), std::string::npos);
    EXPECT_NE(s.find("daxctl reconfigure-device -m devdax -f dax0.0"), std::string::npos);
    EXPECT_EQ(s.find("ndctl create-namespace"), std::string::npos);
    EXPECT_NE(s.find("ln -sfn /dev/dax0.0 /dev/famfs0"), std::string::npos);
}

TEST(Lab, WaitingForAGuestStopsAtAKernelPanic) {
    namespace fs = std::filesystem;
    const fs::path root =
        fs::temp_directory_path() / ("harness-panic-" + std::to_string(::getpid()));
    fs::create_directories(root / "hosts" / "node1");
    std::ofstream(root / "hosts" / "node1" / "console.log")
        << "[    1.2] VFS: Cannot open root device\n"
        << "[    1.3] Kernel panic - not syncing: VFS: Unable to mount root fs\n";
    auto run = RunDir::open(root.string(), false);
    ASSERT_TRUE(run);
    const Status s = wait_ready(*run, {"node1"}, 60);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().message.find("panicked"), std::string::npos) << s.error().message;
    EXPECT_NE(s.error().message.find((root / "hosts" / "node1" / "console.log").string()),
              std::string::npos);
    EXPECT_NE(s.error().message.find("Unable to mount root fs"), std::string::npos);
    fs::remove_all(root);
}

}  // namespace
}  // namespace lab
