// The device seam: one small interface over a memory device mapped
// MAP_SHARED. Implementations: a regular file standing in for memory
// (e.g. /dev/shm/famfs0), a devdax character device (/dev/daxX.Y), a PCI BAR
// resource file (/sys/bus/pci/devices/<bdf>/resource2). Tests wrap devices
// (device_wrapper.h) to inject faults and to simulate non-coherent caches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "famfs/result.h"

namespace famfs {

enum class DeviceKind { kFile, kDevdax, kPciBar, kMemory };
enum class Access { kReadOnly, kReadWrite };

const char* to_string(DeviceKind kind);

class Device {
  public:
    virtual ~Device() = default;

    virtual uint8_t* base() = 0;
    virtual uint64_t size() const = 0;
    virtual const std::string& path() const = 0;
    virtual DeviceKind kind() const = 0;
    virtual Access access() const = 0;

    // Writes CPU caches for [p, p+n) back to memory, so that stores are
    // durable and visible to other hosts on non-coherent memory. A failing
    // persist (only the fault injector fails) means "the host died here".
    virtual Status persist(const void* p, size_t n);
    // Drops cached lines for [p, p+n), so the next load reads memory that
    // another host may have written.
    virtual void invalidate(const void* p, size_t n);
    // Frees the page tables that map the whole pages of [p, p+n); the
    // memory and its contents stay, and a later touch maps them again. Bulk
    // writers call it behind themselves: tearing down a big file's page
    // tables costs about what filling them did. No-op by default.
    virtual void drop_page_tables(const void* p, size_t n);
    // True when every mapping of this memory is on this host: a file in a
    // RAM file system (tmpfs, /dev/shm), whose page cache is the memory.
    // All its users then share this host's coherent CPU caches and there is
    // no persistence domain, so cache maintenance of file data changes
    // nothing anyone can observe. False by default.
    virtual bool host_local_memory() const { return false; }

    // Cache maintenance for file data (not metadata, which always follows
    // docs/format.md): persist() and invalidate(), skipped on host-local memory,
    // where they would cost a fifth of a bulk copy for nothing.
    Status persist_data(const void* p, size_t n) {
        return host_local_memory() ? Status{} : persist(p, n);
    }
    void invalidate_data(const void* p, size_t n) {
        if (!host_local_memory()) invalidate(p, n);
    }

    std::span<uint8_t> bytes() { return {base(), size()}; }
    std::span<uint8_t> range(uint64_t offset, uint64_t len) { return {base() + offset, len}; }
};

// Opens and maps a device, choosing the implementation from what the path is.
Result<std::unique_ptr<Device>> open_device(const std::string& path, Access access);

// What open_device() hands every device it opens to before returning it:
// the one seam through which a test build of the binaries (tests/support)
// wraps devices in its fault injector. The shipped binaries never set one,
// so open_device() returns the device itself; it is set once, before any
// device is opened (a static initializer of the test build).
using DeviceDecorator = Result<std::unique_ptr<Device>> (*)(std::unique_ptr<Device> device);
void set_device_decorator(DeviceDecorator decorate);

// Creates (or resizes) a regular file to stand in for a memory device.
Status create_device_file(const std::string& path, uint64_t size);

// Host-local advisory locks on the device file (open-file-description locks,
// so every famfs process on the host honours them, threads included):
//  - the append lock serialises log appends (the CLI and the server),
//  - the mount lock is held shared by every famfs_fused serving the device;
//    mkfs and fsck-by-device test it to refuse a device that is in use,
//  - the use lock is held shared by every process that has the file system
//    open (Volume::open: the CLI commands and the servers) for as long as it
//    has it open,
//  - the host table lock serialises the master's writes of master halves
//    (its server's grants, famfs host evict, master commands that grant):
//    each reads a slot and writes it back, so two at once could undo an
//    eviction.
// Lock order: append before host table (a master command grants while it
// appends).
// mkfs takes the append and use locks exclusively, so it never formats a
// device under a famfs command that is running, and no command opens the
// device while it is being formatted.
class DeviceLock {
  public:
    enum class Kind { kAppend, kMount, kUse, kHostTable };
    // The append and host table locks are taken exclusively, the mount and
    // use locks shared.
    static Result<DeviceLock> acquire(const std::string& device_path, Kind kind, bool wait);
    // Takes any of the locks exclusively without waiting (mkfs); EBUSY,
    // naming the holders, when a famfs process holds it.
    static Result<DeviceLock> acquire_exclusive(const std::string& device_path, Kind kind);
    // True when some process holds the mount lock of this device.
    static bool in_use(const std::string& device_path);
    // The processes on this host (other than this one) that hold `kind` on
    // the device, as "pid 123 (famfs --device /dev/dax0.0 cp ...)", comma
    // separated; empty when none can be found (they are gone, or /proc does
    // not show them to this user).
    static std::string holders(const std::string& device_path, Kind kind);

    DeviceLock(DeviceLock&& other) noexcept;
    DeviceLock& operator=(DeviceLock&& other) noexcept;
    DeviceLock(const DeviceLock&) = delete;
    DeviceLock& operator=(const DeviceLock&) = delete;
    ~DeviceLock();

  private:
    explicit DeviceLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace famfs
