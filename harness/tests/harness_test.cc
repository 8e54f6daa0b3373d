// Unit tests for the lab harness pieces that run without QEMU.
#include <gtest/gtest.h>

#include <algorithm>

#include "args.h"
#include "base64.h"
#include "inject.h"
#include "json.h"
#include "provision.h"
#include "qemu_args.h"
#include "text_util.h"
#include "topology.h"

namespace lab {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
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
    for (const char* name : {"cxl2", "cxl4", "nvdimm2", "ivshmem2"}) {
        auto t = load_topology_file(std::string(LAB_TOPOLOGY_DIR) + "/" + name + ".conf");
        ASSERT_TRUE(t.ok()) << name << ": " << t.error().message;
        EXPECT_EQ(t->name, name);
    }
}

TEST(QemuArgs, CxlCarriesTheWorkarounds) {
    auto t = parse_topology(kTwoHosts, "t");
    ASSERT_TRUE(t.ok());
    auto argv = qemu_argv(*t, t->hosts[1], HostLaunch{"/dev/shm/x", "/img", "uuid-1"});
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
    auto argv = qemu_argv(*t, t->hosts[0], HostLaunch{"/dev/shm/x", "/img", "u"});
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

}  // namespace
}  // namespace lab
