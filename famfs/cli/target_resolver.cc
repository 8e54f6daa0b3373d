#include "target_resolver.h"

#include "famfs/meta_protocol.h"
#include "lifetime.h"

#include <optional>

namespace famfs::cli {
namespace {

// A mount's .meta files that lie in device memory, as file entries over
// their device ranges (the layout of docs/format.md).
std::optional<omf::FileEntry> meta_entry(const omf::Superblock& sb, const std::string& relpath) {
    omf::Extent e;
    if (relpath == meta::kSuperblockPath) {
        e = omf::superblock_extent();
    } else if (relpath == meta::kLogPath) {
        e = omf::log_extent(sb);
    } else {
        return std::nullopt;
    }
    omf::FileEntry f;
    f.relpath = relpath;
    f.size = e.len;
    f.extents.push_back(e);
    return f;
}

bool server_meta_file(const std::string& relpath) {
    return relpath == meta::kStatusPath || relpath == meta::kControlPath;
}

}  // namespace

Result<TargetResolver::Loaded> TargetResolver::load(const std::string& device) {
    auto it = open_.find(device);
    if (it != open_.end()) return Loaded{it->second.vol, it->second.state};
    return keep(device, Volume::open(device, access_));
}

Result<TargetResolver::Loaded> TargetResolver::load(const std::string& device,
                                                    std::shared_ptr<Device> opened) {
    if (open_.contains(device)) return make_error(EEXIST, device + ": already loaded");
    return keep(device, Volume::open(std::move(opened)));
}

Result<TargetResolver::Loaded> TargetResolver::keep(const std::string& device,
                                                    Result<std::unique_ptr<Volume>> vol) {
    if (!vol) return vol.error();
    auto st = (*vol)->load();
    if (!st) return st.error();
    const Entry e{keep_until_exit(std::move(*vol)),
                  keep_until_exit(std::make_unique<State>(std::move(*st)))};
    open_.emplace(device, e);
    return Loaded{e.vol, e.state};
}

Result<const Node*> TargetResolver::lookup(const Target& t) {
    auto loaded = load(t.device);
    if (!loaded) return loaded.error();
    const Node* n = loaded->state->ns.lookup(t.relpath);
    if (n == nullptr) return make_error(ENOENT, "no such file in the famfs log");
    return n;
}

Result<MappedFile> TargetResolver::open_file(const Target& t) {
    if (t.mounted()) {
        if (server_meta_file(t.relpath))
            return make_error(kNotDeviceMemory,
                              "a file the famfs server writes, not device memory");
        auto loaded = load(t.device);
        if (!loaded) return loaded.error();
        if (auto meta = meta_entry(loaded->vol->superblock(), t.relpath)) {
            auto map = dax::FileMapping::from_entry(loaded->vol->shared_device(), *meta);
            if (!map) return map.error();
            return MappedFile{loaded->vol, nullptr, std::move(*map)};
        }
    }
    auto n = lookup(t);
    if (!n) return n.error();
    if ((*n)->is_dir) return make_error(EISDIR, "is a directory");
    Volume* vol = open_.at(t.device).vol;
    auto map = dax::FileMapping::from_entry(vol->shared_device(), (*n)->file);
    if (!map) return map.error();
    return MappedFile{vol, *n, std::move(*map)};
}

}  // namespace famfs::cli
