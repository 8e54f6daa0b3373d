// The poison watcher: finds memory that a CXL memory device lists as
// poisoned before anybody loads it. A device's poison list (filled by the
// media, or by QEMU's cxl-inject-poison) raises no machine check and loads
// of the address may still return data; Linux reads the list only when
// asked: writing 1 to /sys/bus/cxl/devices/memN/trigger_poison_list makes it
// emit one cxl:cxl_poison trace event per record, with the host physical
// address (HPA) when a region maps the record's device address (DPA).
//
// When the server's device is a devdax character device and the machine
// has such memdevs and a tracefs, the watcher creates a private trace
// instance (TRACEFS/instances/famfs_fused.<pid>), enables cxl/cxl_poison in
// it, and every interval triggers every memdev's list and reads the new
// events from the instance's trace_pipe. Each record with an HPA inside the
// dax device becomes a device range: offset = HPA - the dax device's
// physical start (SYSFS/bus/dax/devices/daxX.Y/resource, the device found
// from the node's major:minor through SYSFS/dev/char/MAJ:MIN), length = the
// record's dpa_length. Otherwise it is off, says why, and costs nothing.
// The sysfs and tracefs roots are options, so tests run it on fake trees.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "famfs/result.h"
#include "poisoned_ranges.h"

namespace famfs::fused::poison {

// One cxl:cxl_poison event as Linux 6.12 prints it (drivers/cxl/core/trace.h):
//   memdev=mem0 host=0000:0d:00.0 serial=0 trace_type=List region=region0
//   region_uuid=... hpa=0x... dpa=0x... dpa_length=0x40 source=Injected
//   flags= overflow_time=0
// Fields are read by name, so later kernels' extra fields (hpa_alias0) do
// not matter.
struct Record {
    std::string memdev;
    std::string region;           // "" when no region maps the DPA
    std::string trace_type;       // List, Inject or Clear
    std::optional<uint64_t> hpa;  // none when unmapped (printed as all ones)
    uint64_t dpa = 0;
    uint64_t length = 0;    // bytes
    bool overflow = false;  // the device's list overflowed: it lists less than there is
};

// One line of trace output; nullopt for other events and anything malformed.
std::optional<Record> parse_trace_line(std::string_view line);

// Cuts what reads of a pipe return into lines: a line split across reads
// is kept until its end arrives. A "line" longer than kMaxLine is dropped.
class LineBuffer {
  public:
    static constexpr size_t kMaxLine = 4096;
    // Calls fn(line) (without the newline) for each line `bytes` completes.
    void feed(std::string_view bytes, const std::function<void(std::string_view)>& fn);

  private:
    std::string partial_;
    bool dropping_ = false;  // inside an over-long line
};

// Where a dax device's memory lives in the host physical address space:
// one piece per range (SYSFS/bus/dax/devices/NAME/mappingN), or the
// device's `resource` and `size` when it lists no mappings.
struct DaxPiece {
    uint64_t phys = 0;        // host physical address of the piece
    uint64_t len = 0;         // bytes
    uint64_t dev_offset = 0;  // where the piece starts in the device
};
struct DaxWindow {
    std::string name;  // daxX.Y
    std::vector<DaxPiece> pieces;
};

// The dax device behind a character device number, from the link
// SYSFS/dev/char/MAJ:MIN (its last component is the device's name).
Result<std::string> dax_name_of(const std::string& sysfs, unsigned major, unsigned minor);
Result<DaxWindow> read_dax_window(const std::string& sysfs, const std::string& name);
// The device ranges of poison at [hpa, hpa + len): its parts inside the
// window, clipped to [0, device_size); empty when none.
std::vector<DeviceRange> device_ranges(const DaxWindow& w, uint64_t hpa, uint64_t len,
                                       uint64_t device_size);

struct WatchOptions {
    // How often the lists are read; 0: never (the watcher is off).
    std::chrono::milliseconds interval{200};
    std::string sysfs = "/sys";
    // "": /sys/kernel/tracing, else /sys/kernel/debug/tracing.
    std::string tracefs;
    // Tests only: take the device to be this dax device of `sysfs`, whatever
    // the device file is (a regular file in /dev/shm has no dax device).
    std::string test_dax;
};

class Watcher {
  public:
    using Sink = std::function<void(const DeviceRange&)>;
    // Looks for what the watch needs and sets up the trace instance; the
    // watcher is off (and describe() says why) when anything is missing.
    // `sink` receives each poisoned device range, on the watcher's thread.
    static std::unique_ptr<Watcher> create(const WatchOptions& opt, const std::string& device,
                                           uint64_t device_size, Sink sink);
    ~Watcher();  // stops and removes the trace instance
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;

    bool on() const { return pipe_fd_ >= 0; }
    // The polling thread (nothing when off).
    void start();
    void stop();
    // One round: trigger every memdev's list, read and hand on the records
    // (the thread's work; tests call it directly).
    void poll_once();

    // "cxl-poison-list mem0 every 200 ms", or "off (why)".
    std::string describe() const;
    const std::string& instance() const { return instance_; }
    // What the latest round read: every round reads the whole lists again.
    struct Counts {
        uint64_t records = 0;   // cxl_poison records (Clear records not counted)
        uint64_t unmapped = 0;  // of them without a host address
        uint64_t outside = 0;   // of them outside this device
        bool overflow = false;  // some device's list overflowed (ever)
    };
    Counts counts() const;
    // What the last round's triggers failed with ("" when nothing failed).
    std::string trigger_error() const;

  private:
    Watcher() = default;
    // "" when set up, else why the watcher is off.
    std::string setup(const std::string& device);
    void take(std::string_view line);
    void loop();

    WatchOptions opt_;
    uint64_t device_size_ = 0;
    Sink sink_;
    std::string off_why_;
    std::vector<std::string> memdevs_;  // names (mem0, ...)
    DaxWindow window_;
    std::string instance_;  // the trace instance's directory ("" when none)
    int pipe_fd_ = -1;
    LineBuffer lines_;
    Counts round_;  // the round under way (the polling thread's)

    std::thread thread_;
    std::mutex stop_mutex_;  // a leaf: guards stop_
    std::condition_variable stop_cv_;
    bool stop_ = false;

    std::atomic<uint64_t> records_{0}, unmapped_{0}, outside_{0};
    std::atomic<bool> overflow_{false};
    mutable std::mutex error_mutex_;  // a leaf: guards trigger_error_
    std::string trigger_error_;
};

}  // namespace famfs::fused::poison
