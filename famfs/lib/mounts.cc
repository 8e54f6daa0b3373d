// famfs mounts from the kernel's mount table, and resolving a path (which may
// not exist yet, e.g. a file about to be created) to its mount.
#include "famfs/mounts.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "famfs/device.h"

namespace famfs {
namespace {

bool is_octal(char c) {
    return c >= '0' && c <= '7';
}

// The kernel escapes blanks, newlines and backslashes in names as \ooo.
std::string unescape_mount_field(std::string_view field) {
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) &&
            is_octal(field[i + 2]) && is_octal(field[i + 3])) {
            out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                     (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

std::vector<std::string_view> split_blanks(std::string_view line) {
    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        const size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> parts;
    std::stringstream ss(path);
    std::string part;
    while (std::getline(ss, part, '/'))
        if (!part.empty()) parts.push_back(part);
    return parts;
}

std::string join_path(const std::vector<std::string>& parts, size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += "/" + parts[i];
    return out.empty() ? "/" : out;
}

// Appends `component` to the canonical absolute path `base` lexically.
void append_component(std::string& base, const std::string& component) {
    if (component == ".") return;
    if (component == "..") {
        const size_t slash = base.rfind('/');
        base.erase(slash == 0 ? 1 : slash);
        return;
    }
    if (base.back() != '/') base += '/';
    base += component;
}

Result<std::string> absolute_path(const std::string& path) {
    if (path.empty()) return make_error(EINVAL, "empty path");
    if (path[0] == '/') return path;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return make_error(errno, "cannot resolve '" + path + "': current directory unknown");
    return std::string(cwd) + "/" + path;
}

// The canonical form of a path that may not exist: its longest existing
// ancestor resolved by realpath(), then the rest appended lexically.
Result<std::string> canonical_path(const std::string& path) {
    auto abs = absolute_path(path);
    if (!abs) return abs.error();
    const auto parts = split_path(*abs);
    for (size_t k = parts.size() + 1; k-- > 0;) {
        char resolved[PATH_MAX];
        if (!realpath(join_path(parts, k).c_str(), resolved)) continue;
        std::string out = resolved;
        for (size_t i = k; i < parts.size(); ++i) append_component(out, parts[i]);
        return out;
    }
    return make_error(ENOENT, "cannot resolve '" + path + "'");
}

// Whether `path` lies in `mountpoint`; *rel is then the part below it ("" for
// the mount point itself).
bool relative_to(const std::string& path, const std::string& mountpoint, std::string* rel) {
    if (mountpoint == "/") {
        *rel = path.substr(1);
        return true;
    }
    if (path.compare(0, mountpoint.size(), mountpoint) != 0) return false;
    if (path.size() == mountpoint.size()) {
        rel->clear();
        return true;
    }
    if (path[mountpoint.size()] != '/') return false;
    *rel = path.substr(mountpoint.size() + 1);
    return true;
}

}  // namespace

std::vector<MountInfo> parse_famfs_mounts(std::string_view table) {
    std::vector<MountInfo> mounts;
    size_t pos = 0;
    while (pos < table.size()) {
        size_t end = table.find('\n', pos);
        if (end == std::string_view::npos) end = table.size();
        const auto fields = split_blanks(table.substr(pos, end - pos));
        pos = end + 1;
        if (fields.size() < 3 || fields[2] != kFuseType) continue;
        mounts.push_back({unescape_mount_field(fields[0]), unescape_mount_field(fields[1])});
    }
    return mounts;
}

std::vector<MountInfo> famfs_mounts() {
    std::ifstream in("/proc/self/mounts");
    std::stringstream table;
    table << in.rdbuf();
    return parse_famfs_mounts(table.str());
}

std::string resolved_or_given(const std::string& path) {
    char buf[PATH_MAX];
    return ::realpath(path.c_str(), buf) ? std::string(buf) : path;
}

namespace {

bool listed_as_mount(const std::string& device_path) {
    const std::string want = resolved_or_given(device_path);
    for (const MountInfo& m : famfs_mounts())
        if (resolved_or_given(m.device) == want) return true;
    return false;
}

}  // namespace

bool served_here(const std::string& device_path, std::chrono::milliseconds grace) {
    constexpr auto kStep = std::chrono::milliseconds(10);
    const auto until = std::chrono::steady_clock::now() + grace;
    while (!listed_as_mount(device_path)) {
        if (!DeviceLock::in_use(device_path)) return false;
        if (std::chrono::steady_clock::now() >= until) return true;
        std::this_thread::sleep_for(kStep);
    }
    return true;
}

Result<ResolvedPath> resolve_in_mount(const std::string& path,
                                      const std::vector<MountInfo>& mounts) {
    auto canon = canonical_path(path);
    if (!canon) return canon.error();
    const MountInfo* best = nullptr;
    std::string best_rel;
    for (const auto& m : mounts) {
        std::string rel;
        if (!relative_to(*canon, m.mountpoint, &rel)) continue;
        if (best && best->mountpoint.size() >= m.mountpoint.size()) continue;
        best = &m;
        best_rel = rel;
    }
    if (!best) return make_error(ENOENT, path + ": not in a famfs mount");
    return ResolvedPath{*best, best_rel};
}

Result<ResolvedPath> resolve_in_mount(const std::string& path) {
    return resolve_in_mount(path, famfs_mounts());
}

}  // namespace famfs
