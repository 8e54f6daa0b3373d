#include "cp_plan.h"

#include <dirent.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "report.h"

namespace famfs::cli {
namespace {

constexpr const char* kCmd = "cp";

// What a source that is not a regular file or directory is, as people say it.
const char* special_kind(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFLNK:
            return "symbolic link";
        case S_IFIFO:
            return "named pipe (FIFO)";
        case S_IFSOCK:
            return "socket";
        case S_IFCHR:
            return "character device";
        case S_IFBLK:
            return "block device";
        default:
            return "special file";
    }
}

std::vector<std::string> sorted_entries(const std::string& dir) {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(dir.c_str())) {
        while (const dirent* e = ::readdir(d)) {
            if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
                names.emplace_back(e->d_name);
            }
        }
        ::closedir(d);
    }
    std::sort(names.begin(), names.end());
    return names;
}

class Planner {
  public:
    Planner(bool recursive, CopyPlan& plan) : recursive_(recursive), plan_(plan) {}

    // `follow`: command-line sources follow symlinks; inside trees they are
    // skipped (famfs has no symbolic links).
    void add(const std::string& src, const Target& dest, bool follow) {
        struct stat st;
        if ((follow ? ::stat(src.c_str(), &st) : ::lstat(src.c_str(), &st)) != 0) {
            return skip(src, std::string(std::strerror(errno)) + ", skipped", "unreadable source");
        }
        if (S_ISDIR(st.st_mode)) return add_dir(src, dest, st);
        if (!S_ISREG(st.st_mode)) {
            const char* kind = special_kind(st.st_mode);
            return skip(src, std::string(kind) + ", skipped (famfs holds regular files only)",
                        kind);
        }
        if (st.st_size == 0)
            return skip(src, "zero-length file, skipped (famfs cannot store it)",
                        "zero-length file");
        plan_.items.push_back(CopyItem{src, dest, false, static_cast<uint64_t>(st.st_size),
                                       static_cast<uint32_t>(st.st_mode & 07777)});
    }

  private:
    void add_dir(const std::string& src, const Target& dest, const struct stat& st) {
        if (!recursive_) return skip(src, "directory, skipped (use -r to copy it)", "directory");
        plan_.items.push_back(
            CopyItem{src, dest, true, 0, static_cast<uint32_t>(st.st_mode & 07777)});
        for (const std::string& name : sorted_entries(src))
            add(src + "/" + name, dest.child(name), false);
    }
    void skip(const std::string& src, const std::string& why, const std::string& kind) {
        report_error(kCmd, src, why);
        ++plan_.skipped;
        ++plan_.skipped_kinds[kind];
    }

    bool recursive_;
    CopyPlan& plan_;
};

// The name a source gets under a destination directory ("." and ".." are
// named after the directory they stand for).
std::string name_in_dest(const std::string& src) {
    const std::string base = base_name(src);
    if (base != "." && base != "..") return base;
    char buf[PATH_MAX];
    return ::realpath(src.c_str(), buf) ? base_name(buf) : base;
}

// "" (the root) for a top-level path.
std::string parent_relpath(const std::string& relpath) {
    const size_t slash = relpath.rfind('/');
    return slash == std::string::npos ? std::string() : relpath.substr(0, slash);
}

bool any_directory(const std::vector<std::string>& paths) {
    struct stat st;
    return std::any_of(paths.begin(), paths.end(), [&](const std::string& p) {
        return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    });
}

bool has_wildcard(const std::string& s) {
    return s.find_first_of("*?[") != std::string::npos;
}

}  // namespace

std::vector<std::string> expand_sources(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (const std::string& a : args) {
        struct stat st;
        glob_t g{};
        if (!has_wildcard(a) || ::stat(a.c_str(), &st) == 0 ||
            ::glob(a.c_str(), 0, nullptr, &g) != 0) {
            out.push_back(a);
        } else {
            for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
        }
        ::globfree(&g);
    }
    return out;
}

Result<CopyPlan> plan_copy(const std::vector<std::string>& sources, const Target& dest,
                           const Namespace& ns, bool recursive) {
    const Node* existing = ns.lookup(dest.relpath);
    const bool into_dir = existing != nullptr && existing->is_dir;
    if (sources.size() > 1 && !into_dir) {
        return make_error(ENOTDIR, existing ? "not a directory (several sources need one)"
                                            : "no such directory (several sources need one)");
    }
    if (!existing) {
        // As cp(1): a new DEST goes into a directory that exists already.
        const std::string parent = parent_relpath(dest.relpath);
        const Node* p = ns.lookup(parent);
        if (p == nullptr) return make_error(ENOENT, "parent directory does not exist");
        if (!p->is_dir) return make_error(ENOTDIR, "parent is not a directory");
    } else if (!into_dir && recursive && any_directory(sources)) {
        return make_error(ENOTDIR, "not a directory (a directory source needs one)");
    }
    CopyPlan plan;
    Planner planner(recursive, plan);
    for (const std::string& src : sources) {
        planner.add(src, into_dir ? dest.child(name_in_dest(src)) : dest, true);
    }
    return plan;
}

}  // namespace famfs::cli
