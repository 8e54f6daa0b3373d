// Resolves the targets a command names (target.h) to famfs files and maps
// them: each device is opened and its log replayed once, however many of its
// files are named.
#pragma once

#include <cerrno>
#include <map>
#include <memory>
#include <string>

#include "famfs/dax.h"
#include "famfs/volume.h"
#include "target.h"

namespace famfs::cli {

// A famfs file a command has mapped.
struct MappedFile {
    Volume* vol = nullptr;
    const Node* node = nullptr;  // null for .meta/.superblock and .meta/.log
    dax::FileMapping map;
};

// The error open_file gives for the server's own files in a mount's .meta
// (.status, .control): text the server makes up, not device memory.
inline constexpr int kNotDeviceMemory = ENODATA;

class TargetResolver {
  public:
    explicit TargetResolver(Access access) : access_(access) {}

    struct Loaded {
        Volume* vol;
        const State* state;
    };
    Result<Loaded> load(const std::string& device);
    // The same on a device opened already, which targets naming `device`
    // use from then on (tests: a fault-injecting or non-coherent device).
    Result<Loaded> load(const std::string& device, std::shared_ptr<Device> opened);
    // The node at the target (ENOENT when the log has no such path).
    Result<const Node*> lookup(const Target& t);
    // A regular famfs file, mapped (EISDIR for a directory). In a mount,
    // .meta/.superblock and .meta/.log are mapped too: they are device
    // memory, and scripts flush and chkread them like files.
    Result<MappedFile> open_file(const Target& t);

  private:
    Result<Loaded> keep(const std::string& device, Result<std::unique_ptr<Volume>> vol);
    struct Entry {
        Volume* vol;  // both kept until exit (lifetime.h)
        const State* state;
    };
    Access access_;
    std::map<std::string, Entry> open_;
};

}  // namespace famfs::cli
