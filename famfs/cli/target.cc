#include "target.h"

#include <sys/stat.h>

#include <cstddef>

#include "famfs/mounts.h"

namespace famfs::cli {
namespace {

// "./a//b/." -> "a/b": forms that name the same place. Anything else
// (absolute paths, "..") is left for validate_relpath to refuse by name.
std::string tidy_relpath(const std::string& p) {
    std::string out;
    size_t i = 0;
    while (i <= p.size()) {
        size_t j = p.find('/', i);
        if (j == std::string::npos) j = p.size();
        const std::string part = p.substr(i, j - i);
        if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
        i = j + 1;
    }
    return out;
}

}  // namespace

std::string Target::mount_path() const {
    return relpath.empty() ? mountpoint : mountpoint + "/" + relpath;
}

Target Target::child(const std::string& name) const {
    Target t = *this;
    t.relpath = join_relpath(relpath, name);
    t.arg = (arg.empty() || arg.ends_with('/')) ? arg + name : arg + "/" + name;
    return t;
}

Result<Target> resolve_target(const GlobalOptions& g, const std::string& arg) {
    Target t;
    t.arg = arg;
    if (!g.device.empty()) {
        if (arg.starts_with('/')) {
            return make_error(EINVAL,
                              "absolute path; with --device paths are relative to the file "
                              "system root");
        }
        t.device = g.device;
        t.relpath = tidy_relpath(arg);
        return t;
    }
    auto r = resolve_in_mount(arg);
    if (!r) return r.error();
    t.device = r->mount.device;
    t.mountpoint = r->mount.mountpoint;
    t.relpath = r->relpath;
    return t;
}

void reveal_in_mount(const Target& t) {
    if (!t.mounted()) return;
    struct stat st;
    (void)::stat(t.mount_path().c_str(), &st);
}

std::string base_name(const std::string& path) {
    size_t end = path.size();
    while (end > 1 && path[end - 1] == '/') --end;
    const size_t slash = path.rfind('/', end - 1);
    return slash == std::string::npos ? path.substr(0, end)
                                      : path.substr(slash + 1, end - slash - 1);
}

std::string join_relpath(const std::string& dir, const std::string& name) {
    if (dir.empty()) return name;
    if (name.empty()) return dir;
    return dir + "/" + name;
}

}  // namespace famfs::cli
