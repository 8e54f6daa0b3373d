#include "volumes.h"

#include "lifetime.h"

namespace famfs::cli {

Result<Volumes::Loaded> Volumes::load(const std::string& device) {
    auto it = open_.find(device);
    if (it == open_.end()) {
        auto vol = Volume::open(device, access_);
        if (!vol) return vol.error();
        auto st = (*vol)->load();
        if (!st) return st.error();
        it = open_
                 .emplace(device, Entry{keep_until_exit(std::move(*vol)),
                                        keep_until_exit(std::make_unique<State>(std::move(*st)))})
                 .first;
    }
    return Loaded{it->second.vol, it->second.state};
}

Result<const Node*> Volumes::lookup(const Target& t) {
    auto loaded = load(t.device);
    if (!loaded) return loaded.error();
    const Node* n = loaded->state->ns.lookup(t.relpath);
    if (n == nullptr) return make_error(ENOENT, "no such file in the famfs log");
    return n;
}

Result<OpenFile> Volumes::open_file(const Target& t) {
    auto n = lookup(t);
    if (!n) return n.error();
    if ((*n)->is_dir) return make_error(EISDIR, "is a directory");
    Volume* vol = open_.at(t.device).vol;
    auto map = dax::FileMapping::from_entry(vol->shared_device(), (*n)->file);
    if (!map) return map.error();
    return OpenFile{vol, *n, std::move(*map)};
}

}  // namespace famfs::cli
