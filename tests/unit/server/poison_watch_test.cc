// The CXL poison watcher: the cxl_poison trace-line parser, the HPA ->
// device offset mapping, and the watcher itself on a fake sysfs and tracefs
// in a temporary directory (its trace_pipe a regular file the test appends
// to).
#include "poison_watch.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <ios>
#include <mutex>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace famfs::fused::poison {
namespace {

namespace fs = std::filesystem;

// Lines as Linux 6.12 writes them to trace_pipe (header, then TP_printk).
constexpr const char* kMapped =
    "           <...>-312     [000] .....  1234.567890: cxl_poison: memdev=mem0 "
    "host=0000:0d:00.0 serial=0 trace_type=List region=region0 "
    "region_uuid=2d1f4bd1-8a2e-4a7c-9f2e-6c3a1f1b0c7e hpa=0x390210000 dpa=0x10000 "
    "dpa_length=0x40 source=Injected flags= overflow_time=0";
constexpr const char* kUnmapped =
    "            bash-401     [001] ..... 98765.000001: cxl_poison: memdev=mem1 "
    "host=0000:0e:00.0 serial=1 trace_type=List region= "
    "region_uuid=00000000-0000-0000-0000-000000000000 hpa=0xffffffffffffffff dpa=0x0 "
    "dpa_length=0x80 source=Injected flags= overflow_time=0";

std::string poison_line(uint64_t hpa, uint64_t len, const char* type = "List") {
    std::ostringstream out;
    out << "  famfs_fused-77  [000] .....  5.000001: cxl_poison: memdev=mem0 host=0000:0d:00.0 "
           "serial=0 trace_type="
        << type << " region=region0 region_uuid=2d1f4bd1-8a2e-4a7c-9f2e-6c3a1f1b0c7e hpa=0x"
        << std::hex << hpa << " dpa=0x1000 dpa_length=0x" << len
        << " source=Injected flags= overflow_time=0\n";
    return out.str();
}

TEST(PoisonTraceLine, ReadsAMappedRecord) {
    const auto r = parse_trace_line(kMapped);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->memdev, "mem0");
    EXPECT_EQ(r->region, "region0");
    EXPECT_EQ(r->trace_type, "List");
    ASSERT_TRUE(r->hpa);
    EXPECT_EQ(*r->hpa, 0x390210000u);
    EXPECT_EQ(r->dpa, 0x10000u);
    EXPECT_EQ(r->length, 0x40u);
    EXPECT_FALSE(r->overflow);
}

TEST(PoisonTraceLine, AnUnmappedRecordHasNoHostAddress) {
    const auto r = parse_trace_line(kUnmapped);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->memdev, "mem1");
    EXPECT_EQ(r->region, "");
    EXPECT_FALSE(r->hpa);
    EXPECT_EQ(r->length, 0x80u);
}

TEST(PoisonTraceLine, TakesFieldsByNameSoLaterKernelsFieldsDoNotMatter) {
    const auto r = parse_trace_line(
        "kworker/u8:3-99 [002] d..1. 7.5: cxl_poison: memdev=mem3 host=0000:0f:00.0 serial=7 "
        "trace_type=Inject region=region2 region_uuid=2d1f4bd1-8a2e-4a7c-9f2e-6c3a1f1b0c7e "
        "hpa=0x1000 hpa_alias0=0xffffffffffffffff dpa=0x40 dpa_length=0x100 source=Injected "
        "flags=More|Overflow overflow_time=12");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->memdev, "mem3");
    EXPECT_EQ(r->trace_type, "Inject");
    ASSERT_TRUE(r->hpa);
    EXPECT_EQ(*r->hpa, 0x1000u);
    EXPECT_EQ(r->length, 0x100u);
    EXPECT_TRUE(r->overflow);
    // The event alone, as in the `trace` file without its header.
    EXPECT_TRUE(parse_trace_line(std::string(kMapped).substr(std::string(kMapped).find("cxl_"))));
}

TEST(PoisonTraceLine, RefusesOtherEventsAndGarbage) {
    const std::string mapped = kMapped;
    static const char kBinary[] = "\0\xff\x01 cxl_poison: \x02";
    const std::vector<std::string> bad = {
        "",
        "hello",
        "# tracer: nop",
        // another CXL event with the same kind of fields
        "  <...>-1 [000] ..... 1.0: cxl_general_media: memdev=mem0 host=0000:0d:00.0 serial=0 "
        "hpa=0x1000 dpa=0x0 dpa_length=0x40",
        // cut short: the rest is in the next read
        mapped.substr(0, mapped.find(" dpa_length")),
        // a damaged number
        "x: cxl_poison: memdev=mem0 trace_type=List hpa=0x12zz dpa=0x0 dpa_length=0x40",
        "x: cxl_poison: memdev=mem0 trace_type=List hpa=0x1 dpa=0x0 dpa_length=40g",
        // more digits than 64 bits hold
        "x: cxl_poison: memdev=mem0 trace_type=List hpa=0x1ffffffffffffffff dpa=0x0 "
        "dpa_length=0x40",
        // a word that is no field
        "x: cxl_poison: memdev=mem0 trace_type=List hpa=0x1 dpa=0x0 dpa_length=0x40 junk",
        // the event's name inside another word
        "x: notcxl_poison: memdev=mem0 trace_type=List hpa=0x1 dpa=0x0 dpa_length=0x40",
        std::string(kBinary, sizeof(kBinary) - 1),
    };
    for (const std::string& line : bad) EXPECT_FALSE(parse_trace_line(line)) << line;
}

TEST(PoisonLineBuffer, KeepsALineSplitAcrossReadsUntilItsEnd) {
    LineBuffer b;
    std::vector<std::string> lines;
    auto take = [&](std::string_view l) { lines.emplace_back(l); };
    const std::string text = std::string(kMapped) + "\n" + kUnmapped + "\n";
    const size_t cut = text.find("dpa=0x0");
    b.feed(std::string_view(text).substr(0, 7), take);
    EXPECT_TRUE(lines.empty());
    b.feed(std::string_view(text).substr(7, cut - 7), take);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], kMapped);
    b.feed(std::string_view(text).substr(cut), take);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1], kUnmapped);
    EXPECT_TRUE(parse_trace_line(lines[1]));
}

TEST(PoisonLineBuffer, DropsOverLongLinesAndSkipsEmptyOnes) {
    LineBuffer b;
    std::vector<std::string> lines;
    auto take = [&](std::string_view l) { lines.emplace_back(l); };
    const std::string huge(LineBuffer::kMaxLine + 10, 'x');
    b.feed(huge.substr(0, 3000), take);
    b.feed(huge.substr(3000) + "\n\nnext\n", take);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], "next");
}

TEST(PoisonDeviceRanges, OffsetIsTheHostAddressLessTheDaxStart) {
    const DaxWindow w{"dax0.0", {{0x390200000, 0x40000000, 0}}};
    const uint64_t size = 0x40000000;
    using V = std::vector<DeviceRange>;
    EXPECT_EQ(device_ranges(w, 0x390210000, 0x40, size), (V{{0x10000, 0x40}}));
    EXPECT_EQ(device_ranges(w, 0x390200000, 0x40, size), (V{{0, 0x40}}));
    // Outside [0, device size): below the start, at or past the end.
    EXPECT_TRUE(device_ranges(w, 0x3901fffc0, 0x40, size).empty());
    EXPECT_TRUE(device_ranges(w, 0x390200000 + size, 0x40, size).empty());
    EXPECT_TRUE(device_ranges(w, 0, 0x40, size).empty());
    EXPECT_TRUE(device_ranges(w, 0x390210000, 0, size).empty());
    // Straddling an edge: only the part inside.
    EXPECT_EQ(device_ranges(w, 0x3901fffc0, 0x80, size), (V{{0, 0x40}}));
    EXPECT_EQ(device_ranges(w, 0x390200000 + size - 0x40, 0x100, size), (V{{size - 0x40, 0x40}}));
    // A device smaller than the window (famfs maps what it was told).
    EXPECT_TRUE(device_ranges(w, 0x390200000 + 0x100000, 0x40, 0x100000).empty());
    // No overflow near the top of the address space.
    EXPECT_TRUE(device_ranges(w, UINT64_MAX - 0x10, 0x40, size).empty());
}

TEST(PoisonDeviceRanges, PiecesOfADaxDeviceMapByTheirPageOffset) {
    // Two ranges: device bytes [0, 2 MiB) at 0x100000000, [2 MiB, 6 MiB) at 0x200000000.
    const DaxWindow w{"dax1.0", {{0x100000000, 0x200000, 0}, {0x200000000, 0x400000, 0x200000}}};
    using V = std::vector<DeviceRange>;
    EXPECT_EQ(device_ranges(w, 0x100001000, 0x40, 0x600000), (V{{0x1000, 0x40}}));
    EXPECT_EQ(device_ranges(w, 0x200001000, 0x40, 0x600000), (V{{0x201000, 0x40}}));
    EXPECT_TRUE(device_ranges(w, 0x180000000, 0x40, 0x600000).empty());
}

// A fake sysfs and tracefs under a temporary directory.
class FakeTree {
  public:
    FakeTree() {
        static std::atomic<int> counter{0};
        root_ = "/tmp/famfs-poison-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
        fs::create_directories(root_);
    }
    ~FakeTree() {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    std::string sysfs() const { return root_ + "/sys"; }
    std::string tracefs() const { return root_ + "/tracing"; }
    std::string instance() const {
        return tracefs() + "/instances/famfs_fused." + std::to_string(getpid());
    }

    void write(const std::string& path, const std::string& text, bool append = false) {
        fs::create_directories(fs::path(path).parent_path());
        std::ofstream(path, append ? std::ios::app : std::ios::trunc) << text;
    }
    static std::string read(const std::string& path) {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    // memdevs with a trigger, a dax device at `start` of `size` bytes that
    // /dev/null's number leads to, and a tracefs.
    void populate(uint64_t start, uint64_t size, bool with_instance = true) {
        for (const char* m : {"mem0", "mem1"}) {
            write(sysfs() + "/bus/cxl/devices/" + m + "/trigger_poison_list", "");
        }
        write(sysfs() + "/bus/cxl/devices/mem2/serial", "0\n");                // no trigger
        write(sysfs() + "/bus/cxl/devices/memory_x/trigger_poison_list", "");  // not a memdev
        std::ostringstream res;
        res << "0x" << std::hex << start << "\n";
        write(sysfs() + "/bus/dax/devices/dax0.0/resource", res.str());
        write(sysfs() + "/bus/dax/devices/dax0.0/size", std::to_string(size) + "\n");
        struct stat st {};
        EXPECT_EQ(stat("/dev/null", &st), 0);
        const std::string link = sysfs() + "/dev/char/" + std::to_string(major(st.st_rdev)) + ":" +
                                 std::to_string(minor(st.st_rdev));
        fs::create_directories(sysfs() + "/dev/char");
        fs::create_symlink("../../devices/platform/region0/dax0.0/dax0.0", link);
        fs::create_directories(tracefs() + "/instances");
        if (with_instance) {
            // What the kernel makes in a new instance, as far as the watcher uses it.
            write(instance() + "/events/cxl/cxl_poison/enable", "0\n");
            write(instance() + "/trace_pipe", "");
        }
    }

    WatchOptions options() const {
        WatchOptions o;
        o.sysfs = sysfs();
        o.tracefs = tracefs();
        return o;
    }

  private:
    std::string root_;
};

constexpr uint64_t kStart = 0x390200000, kSize = 0x40000000;

struct Sink {
    std::mutex mutex;
    std::vector<DeviceRange> got;
    Watcher::Sink fn() {
        return [this](const DeviceRange& r) {
            std::lock_guard lk(mutex);
            got.push_back(r);
        };
    }
    std::vector<DeviceRange> ranges() {
        std::lock_guard lk(mutex);
        return got;
    }
};

TEST(PoisonSysfs, FindsTheDaxDeviceAndItsWindow) {
    FakeTree t;
    t.populate(kStart, kSize);
    struct stat st {};
    ASSERT_EQ(stat("/dev/null", &st), 0);
    const auto name = dax_name_of(t.sysfs(), major(st.st_rdev), minor(st.st_rdev));
    ASSERT_TRUE(name) << name.error().message;
    EXPECT_EQ(*name, "dax0.0");
    const auto w = read_dax_window(t.sysfs(), "dax0.0");
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_EQ(w->pieces.size(), 1u);
    EXPECT_EQ(w->pieces[0].phys, kStart);
    EXPECT_EQ(w->pieces[0].len, kSize);
    EXPECT_FALSE(dax_name_of(t.sysfs(), 4095, 4095));  // no such device number
    EXPECT_FALSE(read_dax_window(t.sysfs(), "dax9.9"));

    // A device that lists its ranges.
    t.write(t.sysfs() + "/bus/dax/devices/dax1.0/mapping0/start", "0x100000000\n");
    t.write(t.sysfs() + "/bus/dax/devices/dax1.0/mapping0/end", "0x1001fffff\n");
    t.write(t.sysfs() + "/bus/dax/devices/dax1.0/mapping0/page_offset", "0x0\n");
    t.write(t.sysfs() + "/bus/dax/devices/dax1.0/mapping1/start", "0x200000000\n");
    t.write(t.sysfs() + "/bus/dax/devices/dax1.0/mapping1/end", "0x2003fffff\n");
    t.write(t.sysfs() + "/bus/dax/devices/dax1.0/mapping1/page_offset", "0x200\n");
    const auto two = read_dax_window(t.sysfs(), "dax1.0");
    ASSERT_TRUE(two) << two.error().message;
    ASSERT_EQ(two->pieces.size(), 2u);
    EXPECT_EQ(two->pieces[1].phys, 0x200000000u);
    EXPECT_EQ(two->pieces[1].len, 0x400000u);
    EXPECT_EQ(two->pieces[1].dev_offset, 0x200u * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
}

TEST(PoisonWatcher, TriggersEveryMemdevAndTurnsRecordsIntoDeviceRanges) {
    FakeTree t;
    t.populate(kStart, kSize);
    Sink sink;
    // /dev/null is a character device: the watcher finds "its" dax device
    // through the fake sysfs as it would a real one.
    auto w = Watcher::create(t.options(), "/dev/null", kSize, sink.fn());
    ASSERT_TRUE(w->on()) << w->describe();
    EXPECT_EQ(w->describe(), "cxl-poison-list mem0,mem1 every 200 ms");
    EXPECT_EQ(w->instance(), t.instance());
    EXPECT_EQ(FakeTree::read(t.instance() + "/events/cxl/cxl_poison/enable").substr(0, 1), "1");

    w->poll_once();
    for (const char* m : {"mem0", "mem1"}) {
        EXPECT_EQ(FakeTree::read(t.sysfs() + "/bus/cxl/devices/" + m + "/trigger_poison_list"), "1")
            << m;
    }
    EXPECT_EQ(FakeTree::read(t.sysfs() + "/bus/cxl/devices/memory_x/trigger_poison_list"), "");
    EXPECT_TRUE(sink.ranges().empty());

    const std::string pipe = t.instance() + "/trace_pipe";
    const std::string second = poison_line(kStart + 0x200000, 0x80);
    t.write(pipe, poison_line(kStart + 0x10000, 0x40), true);
    t.write(pipe, std::string(kUnmapped) + "\n", true);
    t.write(pipe, poison_line(kStart - 0x1000, 0x40), true);  // another device's memory
    t.write(pipe, poison_line(kStart + 0x30000, 0x40, "Clear"), true);
    t.write(pipe, "garbage\n", true);
    t.write(pipe, second.substr(0, 50), true);  // the rest comes later
    t.write(t.sysfs() + "/bus/cxl/devices/mem0/trigger_poison_list", "");
    w->poll_once();
    EXPECT_EQ(FakeTree::read(t.sysfs() + "/bus/cxl/devices/mem0/trigger_poison_list"), "1")
        << "every round triggers again";
    EXPECT_EQ(sink.ranges(), (std::vector<DeviceRange>{{0x10000, 0x40}}));
    const auto c = w->counts();
    EXPECT_EQ(c.records, 3u);
    EXPECT_EQ(c.unmapped, 1u);
    EXPECT_EQ(c.outside, 1u);
    EXPECT_FALSE(c.overflow);

    t.write(pipe, second.substr(50), true);
    w->poll_once();
    EXPECT_EQ(sink.ranges(), (std::vector<DeviceRange>{{0x10000, 0x40}, {0x200000, 0x80}}));
    EXPECT_EQ(w->counts().records, 1u);
    EXPECT_EQ(w->trigger_error(), "");

    // A trigger that fails is reported, and the others still run.
    std::filesystem::remove(t.sysfs() + "/bus/cxl/devices/mem1/trigger_poison_list");
    w->poll_once();
    EXPECT_NE(w->trigger_error().find("mem1/trigger_poison_list"), std::string::npos)
        << w->trigger_error();
}

TEST(PoisonWatcher, ItsThreadPollsOnTheInterval) {
    FakeTree t;
    t.populate(kStart, kSize);
    Sink sink;
    WatchOptions o = t.options();
    o.interval = std::chrono::milliseconds(20);
    auto w = Watcher::create(o, "/dev/null", kSize, sink.fn());
    ASSERT_TRUE(w->on()) << w->describe();
    EXPECT_EQ(w->describe(), "cxl-poison-list mem0,mem1 every 20 ms");
    w->start();
    t.write(t.instance() + "/trace_pipe", poison_line(kStart + 0x4000, 0x40), true);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (sink.ranges().empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    w->stop();
    EXPECT_EQ(sink.ranges(), (std::vector<DeviceRange>{{0x4000, 0x40}}));
}

TEST(PoisonWatcher, IsOffAndSaysWhyWhenSomethingIsMissing) {
    Sink sink;
    {
        FakeTree t;
        t.populate(kStart, kSize);
        WatchOptions o = t.options();
        o.interval = std::chrono::milliseconds(0);
        auto w = Watcher::create(o, "/dev/null", kSize, sink.fn());
        EXPECT_FALSE(w->on());
        EXPECT_EQ(w->describe(), "off (disabled by --poison-poll-ms 0)");
        w->poll_once();  // does nothing
        EXPECT_EQ(FakeTree::read(t.sysfs() + "/bus/cxl/devices/mem0/trigger_poison_list"), "");
    }
    {
        FakeTree t;
        t.populate(kStart, kSize);
        const std::string file = t.tracefs() + "/a-regular-file";
        t.write(file, "");
        auto w = Watcher::create(t.options(), file, kSize, sink.fn());
        EXPECT_EQ(w->describe(), "off (not a devdax device)");
    }
    {
        FakeTree t;
        t.populate(kStart, kSize);
        std::filesystem::remove_all(t.sysfs() + "/bus/cxl");
        auto w = Watcher::create(t.options(), "/dev/null", kSize, sink.fn());
        EXPECT_EQ(w->describe(), "off (no CXL memdev)");
    }
    {
        FakeTree t;
        t.populate(kStart, kSize);
        std::filesystem::remove_all(t.tracefs());
        auto w = Watcher::create(t.options(), "/dev/null", kSize, sink.fn());
        EXPECT_EQ(w->describe(), "off (no tracefs at " + t.tracefs() + ")");
    }
    {
        // The instance has no cxl_poison event (cxl_core not loaded): the
        // watcher is off and removes the instance it made.
        FakeTree t;
        t.populate(kStart, kSize, /*with_instance=*/false);
        auto w = Watcher::create(t.options(), "/dev/null", kSize, sink.fn());
        EXPECT_FALSE(w->on());
        EXPECT_EQ(w->describe().rfind("off (no cxl_poison trace event: ", 0), 0u) << w->describe();
        EXPECT_TRUE(std::filesystem::is_directory(t.instance()));
        w.reset();
        EXPECT_FALSE(std::filesystem::exists(t.instance()));
    }
    EXPECT_TRUE(sink.ranges().empty());
}

TEST(PoisonWatcher, TheTestSeamNamesTheDaxDeviceOfAnyDevice) {
    FakeTree t;
    t.populate(kStart, kSize);
    const std::string file = t.tracefs() + "/a-regular-file";
    t.write(file, "");
    WatchOptions o = t.options();
    o.test_dax = "dax0.0";
    Sink sink;
    auto w = Watcher::create(o, file, kSize, sink.fn());
    ASSERT_TRUE(w->on()) << w->describe();
    t.write(t.instance() + "/trace_pipe", poison_line(kStart + 0x200000, 0x40), true);
    w->poll_once();
    EXPECT_EQ(sink.ranges(), (std::vector<DeviceRange>{{0x200000, 0x40}}));
}

TEST(PoisonedRangesSet, MergesOverlapsAndOnlyGrows) {
    PoisonedRanges p;
    uint64_t g = 1;
    const DeviceRange none[] = {{0, 1 << 20}};
    EXPECT_EQ(p.generation(), 0u);
    EXPECT_FALSE(p.overlaps(none, &g));
    EXPECT_EQ(g, 0u);
    using A = PoisonedRanges::Added;
    EXPECT_EQ(p.add({0x1000, 0x40}), A::kNew);
    EXPECT_EQ(p.generation(), 1u);
    EXPECT_EQ(p.add({0x1000, 0x40}), A::kKnown);
    EXPECT_EQ(p.add({0x1010, 0x10}), A::kKnown);
    EXPECT_EQ(p.add({0x3000, 0x40}), A::kNew);
    EXPECT_EQ(p.add({0x1040, 0x40}), A::kNew);    // adjacent: kept apart
    EXPECT_EQ(p.add({0x1020, 0x2000}), A::kNew);  // overlaps all three
    EXPECT_EQ(p.list(), (std::vector<DeviceRange>{{0x1000, 0x2040}}));
    EXPECT_EQ(p.generation(), 4u);
    EXPECT_EQ(p.add({0, 0}), A::kKnown);

    const DeviceRange before[] = {{0, 0x1000}};
    const DeviceRange touching[] = {{0, 0x1001}};
    const DeviceRange after[] = {{0x3040, 0x1000}, {0x10, 0}};
    const DeviceRange inside_and_after[] = {{0x5000, 0x10}, {0x2000, 0x10}};
    EXPECT_FALSE(p.overlaps(before, &g));
    EXPECT_EQ(g, 4u);
    EXPECT_TRUE(p.overlaps(touching, &g));
    EXPECT_FALSE(p.overlaps(after, &g));
    EXPECT_TRUE(p.overlaps(inside_and_after, &g));
}

}  // namespace
}  // namespace famfs::fused::poison
