#include "shadow_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "famfs/escape.h"
#include "famfs/shadow_yaml.h"
#include "report.h"

namespace famfs::cli {

namespace {

constexpr const char* kCmd = "logplay";
constexpr int kNotThere = -2;  // a directory a dry run would have created

std::string errno_text(int e) {
    return std::strerror(e);
}

Result<std::string> read_all(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(errno, errno_text(errno));
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

Result<std::string> read_at(int dirfd, const std::string& name) {
    const int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return make_error(errno, errno_text(errno));
    auto text = read_all(fd);
    ::close(fd);
    return text;
}

Status write_all(int fd, const std::string& text) {
    for (size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(errno, errno_text(errno));
        done += static_cast<size_t>(n);
    }
    return {};
}

// Replaces (or creates) `name` in one rename, so a daemon reading the tree
// never sees half a file.
Status write_atomically(int dirfd, const std::string& name, const std::string& text) {
    const std::string tmp = "." + name + ".shadow-tmp." + std::to_string(::getpid());
    ::unlinkat(dirfd, tmp.c_str(), 0);  // left over by a killed run
    const int fd =
        ::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return make_error(errno, "cannot create it: " + errno_text(errno));
    Status st = write_all(fd, text);
    if (st && ::fchmod(fd, 0644) != 0) st = make_error(errno, errno_text(errno));
    if (::close(fd) != 0 && st) st = make_error(errno, errno_text(errno));
    if (st && ::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0)
        st = make_error(errno, errno_text(errno));
    if (!st) {
        ::unlinkat(dirfd, tmp.c_str(), 0);
        return make_error(st.error().code, "cannot write it: " + st.error().message);
    }
    return {};
}

uint64_t entries_below(const Node& dir) {
    uint64_t n = 0;
    for (const Node* c = dir.first_child; c != nullptr; c = c->next_sibling)
        n += 1 + (c->is_dir ? entries_below(*c) : 0);
    return n;
}

class TreeWriter {
  public:
    explicit TreeWriter(const ShadowOptions& opt) : opt_(opt) {}

    void walk(int dirfd, const Node& dir, const std::string& shown);
    const ShadowTally& tally() const { return tally_; }

  private:
    void error(const std::string& path, const std::string& why) {
        report_error(kCmd, path, why);
        tally_.errors++;
    }
    void say(const char* what, const std::string& path) {
        if (opt_.verbose > 0) std::printf("shadow: %s %s\n", what, escaped(path).c_str());
    }
    // The child directory's descriptor, kNotThere in a dry run that would
    // create it, or -1 after reporting why it cannot be used.
    int directory(int dirfd, const Node& n, const std::string& path);
    void finish_directory(int fd, const Node& n, const std::string& path);
    void file(int dirfd, const Node& n, const std::string& path);
    // Whether an existing regular file already says what `yaml` says;
    // nullopt (reported) when it is not a shadow file at all.
    std::optional<bool> existing_is_current(int dirfd, const Node& n, const std::string& path,
                                            const std::string& yaml);
    void check(const Node& n, const std::string& path, const std::string& text);
    // Takes out of the directory what the file system no longer has (a
    // deleted object, or one of another kind now under the same name).
    void prune(int dirfd, const Node& dir, const std::string& shown);
    // Removes `name` when it is the shadow of a deleted object: a shadow
    // file, or a directory holding nothing else. Whether it went (in a dry
    // run: would go).
    bool remove_stale(int dirfd, const std::string& name, const std::string& path);

    // In a dry run, a path remove_stale would have removed: what is written
    // there next is taken as new, as it would be.
    bool gone(const std::string& path) const { return gone_.count(path) > 0; }

    const ShadowOptions& opt_;
    ShadowTally tally_;
    std::set<std::string> gone_;  // dry run only
};

// The names in a directory, "." and ".." left out; empty when unreadable.
std::vector<std::string> names_in(int dirfd) {
    std::vector<std::string> names;
    const int fd = ::dup(dirfd);
    if (fd < 0) return names;
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return names;
    }
    ::rewinddir(d);
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(d);
    return names;
}

bool TreeWriter::remove_stale(int dirfd, const std::string& name, const std::string& path) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
    if (S_ISREG(st.st_mode)) {
        // Only what parses as a shadow file was written by a logplay.
        auto text = read_at(dirfd, name);
        if (!text || !shadow::from_yaml(*text, path)) return false;
        if (!opt_.dry_run && ::unlinkat(dirfd, name.c_str(), 0) != 0) {
            error(path, "cannot remove the shadow file of a deleted file: " + errno_text(errno));
            return false;
        }
        tally_.files_removed++;
        if (opt_.dry_run) gone_.insert(path);
        say(opt_.dry_run ? "would remove file" : "removed file", path);
        return true;
    }
    if (!S_ISDIR(st.st_mode)) return false;
    const int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;
    bool all = true;
    for (const std::string& child : names_in(fd))
        all = remove_stale(fd, child, path + "/" + child) && all;
    ::close(fd);
    if (!all) return false;  // holds what logplay did not write: not ours to remove
    if (!opt_.dry_run && ::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0) {
        error(path, "cannot remove the directory of a deleted directory: " + errno_text(errno));
        return false;
    }
    tally_.dirs_removed++;
    if (opt_.dry_run) gone_.insert(path);
    say(opt_.dry_run ? "would remove directory" : "removed directory", path);
    return true;
}

void TreeWriter::prune(int dirfd, const Node& dir, const std::string& shown) {
    std::map<std::string, bool, std::less<>> wanted;  // name -> is a directory
    for (const Node* c = dir.first_child; c != nullptr; c = c->next_sibling)
        wanted.emplace(std::string(c->name), c->is_dir);
    for (const std::string& name : names_in(dirfd)) {
        // A write cut short leaves its temporary file: not a shadow object.
        if (name.find(".shadow-tmp.") != std::string::npos) continue;
        const auto w = wanted.find(name);
        struct stat st {};
        if (w != wanted.end()) {
            if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            const bool kind_matches = w->second ? S_ISDIR(st.st_mode) : !S_ISDIR(st.st_mode);
            if (kind_matches) continue;
        }
        // What stays is left as it is; one in the way of a live object is
        // reported where that object is written.
        (void)remove_stale(dirfd, name, shown + "/" + name);
    }
}

void TreeWriter::walk(int dirfd, const Node& dir, const std::string& shown) {
    if (dirfd != kNotThere) prune(dirfd, dir, shown);
    for (const Node* c : Namespace::sorted_children(dir)) {
        const std::string path = shown + "/" + std::string(c->name);
        if (!c->is_dir) {
            file(dirfd, *c, path);
            continue;
        }
        const int fd = directory(dirfd, *c, path);
        if (fd == -1) {
            if (const uint64_t below = entries_below(*c))
                error(path, std::to_string(below) + " entries below it are not in the shadow tree");
            continue;
        }
        walk(fd, *c, path);
        if (fd >= 0) {
            finish_directory(fd, *c, path);
            ::close(fd);
        }
    }
}

int TreeWriter::directory(int dirfd, const Node& n, const std::string& path) {
    const std::string name(n.name);
    struct stat st {};
    const bool absent = dirfd == kNotThere || gone(path);
    if (absent || ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (!absent && errno != ENOENT) {
            error(path, errno_text(errno));
            return -1;
        }
        tally_.dirs_new++;
        say(opt_.dry_run ? "would create directory" : "created directory", path);
        if (opt_.dry_run) return kNotThere;
        // Writable by us until its children are in; its logged mode comes last.
        if (::mkdirat(dirfd, name.c_str(), 0700) != 0) {
            error(path, "cannot create the directory: " + errno_text(errno));
            return -1;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        error(path, std::string(S_ISLNK(st.st_mode) ? "a symbolic link" : "a file") +
                        " is where the directory " + n.relpath() + " belongs; left as it is");
        return -1;
    } else {
        tally_.dirs_same++;
        say("existing directory", path);
    }
    const int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) error(path, "cannot open the directory: " + errno_text(errno));
    return fd < 0 ? -1 : fd;
}

void TreeWriter::finish_directory(int fd, const Node& n, const std::string& path) {
    if (opt_.dry_run) return;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return error(path, errno_text(errno));
    // Owner first: chown may clear mode bits that chmod then sets.
    if ((st.st_uid != n.uid || st.st_gid != n.gid) && ::fchown(fd, n.uid, n.gid) != 0)
        return error(path, "cannot give it the logged owner " + std::to_string(n.uid) + ":" +
                               std::to_string(n.gid) + ": " + errno_text(errno));
    if ((st.st_mode & 07777) != (n.mode & 07777) && ::fchmod(fd, n.mode & 07777) != 0)
        return error(path, "cannot give it the logged mode: " + errno_text(errno));
}

std::optional<bool> TreeWriter::existing_is_current(int dirfd, const Node& n,
                                                    const std::string& path,
                                                    const std::string& yaml) {
    auto text = read_at(dirfd, std::string(n.name));
    if (!text) {
        error(path, "cannot read it: " + text.error().message);
        return std::nullopt;
    }
    if (*text == yaml) return true;
    auto old = shadow::from_yaml(*text, path);
    if (!old) {
        error(path, "is not a shadow file, left as it is: " + old.error().message);
        return std::nullopt;
    }
    return *old == n.file;  // the same entry in another layout (the reference's) is current
}

void TreeWriter::file(int dirfd, const Node& n, const std::string& path) {
    auto yaml = shadow::to_yaml(n.file);
    if (!yaml) return error(path, yaml.error().message);
    if (opt_.verbose > 1) std::printf("%s", yaml->c_str());
    const std::string name(n.name);
    struct stat st {};
    bool exists = false;
    if (dirfd != kNotThere && !gone(path)) {
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
            exists = true;
        } else if (errno != ENOENT) {
            return error(path, errno_text(errno));
        }
    }
    if (exists && !S_ISREG(st.st_mode))
        return error(path, std::string(S_ISDIR(st.st_mode)   ? "a directory"
                                       : S_ISLNK(st.st_mode) ? "a symbolic link"
                                                             : "a special file") +
                               " is where the shadow file of " + n.relpath() +
                               " belongs; left as it is");
    std::optional<bool> current = false;
    if (exists) current = existing_is_current(dirfd, n, path, *yaml);
    if (!current) return;
    if (*current) {
        tally_.files_same++;
        say("unchanged file", path);
    } else {
        (exists ? tally_.files_updated : tally_.files_new)++;
        const char* verb = exists ? (opt_.dry_run ? "would update file" : "updated file")
                                  : (opt_.dry_run ? "would create file" : "created file");
        say(verb, path);
        if (!opt_.dry_run) {
            if (auto st2 = write_atomically(dirfd, name, *yaml); !st2)
                return error(path, st2.error().message);
        }
    }
    if (!opt_.test) return;
    // The test reads back what is on disk; a dry run tests the text it would write.
    if (opt_.dry_run) return check(n, path, *yaml);
    auto back = read_at(dirfd, name);
    if (!back) return error(path, "cannot read it back: " + back.error().message);
    check(n, path, *back);
}

void TreeWriter::check(const Node& n, const std::string& path, const std::string& text) {
    tally_.checked++;
    auto parsed = shadow::from_yaml(text, path);
    if (!parsed) {
        tally_.mismatches++;
        report_error(kCmd, path, "shadowtest: does not parse: " + parsed.error().message);
        return;
    }
    const auto diffs = shadow::differences(n.file, *parsed);
    if (diffs.empty()) {
        if (opt_.verbose > 0)
            std::printf("shadowtest: %s matches the log\n", escaped(path).c_str());
        return;
    }
    tally_.mismatches++;
    for (const std::string& d : diffs) report_error(kCmd, path, "shadowtest: " + d);
}

std::string without_trailing_slashes(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
}

Status writable_dir(const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return make_error(errno, dir + ": " + errno_text(errno));
    if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, dir + ": not a directory");
    if (::access(dir.c_str(), W_OK) != 0)
        return make_error(EACCES, dir + ": this user may not write the directory");
    return {};
}

}  // namespace

Result<std::string> shadow_root(const std::string& given) {
    const std::string dir = without_trailing_slashes(given);
    FAMFS_TRY(writable_dir(dir));
    if (dir.ends_with("/root")) return dir;
    const std::string root = dir + "/root";
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return make_error(ENOENT, dir + ": has no root directory; the shadow tree goes into " +
                                      root + " (create it, or name a directory whose path " +
                                      "ends in /root)");
    FAMFS_TRY(writable_dir(root));
    return root;
}

ShadowTally write_shadow_tree(const Namespace& ns, const std::string& root,
                              const ShadowOptions& opt) {
    TreeWriter w(opt);
    const int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        ShadowTally t;
        t.errors = 1;
        report_error(kCmd, root, errno_text(errno));
        return t;
    }
    w.walk(fd, ns.root(), root);
    ::close(fd);
    return w.tally();
}

}  // namespace famfs::cli
