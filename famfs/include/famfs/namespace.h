// The namespace built by replaying the log: a tree of directories and files.
// It only ever grows (the log has no deletes), so node pointers stay valid
// for the life of the Namespace; callers that share one across threads
// serialise apply() against readers themselves.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs {

// Lets children.find() take a string_view without building a string.
struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Node {
    uint64_t ino = 0;  // 1 for the root, log index + 2 otherwise: equal on every host
    std::string name;
    Node* parent = nullptr;
    bool is_dir = false;
    uint32_t mode = 0;  // permission bits, as logged
    uint32_t uid = 0, gid = 0;
    uint64_t log_index = 0;
    omf::FileEntry file;  // files only: size, flags and map
    // Directories only. Hashed: a directory may hold tens of thousands of
    // files, and replay does one lookup and one insert per entry.
    std::unordered_map<std::string, std::unique_ptr<Node>, NameHash, std::equal_to<>> children;

    uint64_t size() const { return is_dir ? 0 : file.size; }
    std::string relpath() const;
};

// Something replay refused to instantiate.
struct Problem {
    uint64_t index = 0;
    std::string relpath;
    std::string reason;
};

Status validate_relpath(std::string_view relpath);
// Splits "a/b/c" into its parent "a/b" and name "c" ("" parent at the root).
std::pair<std::string_view, std::string_view> split_relpath(std::string_view relpath);
// Extent rules of format.md against this superblock: alignment, count,
// offsets never inside the superblock/log, never past the device, and
// enough space for `size`.
Status validate_file_map(const omf::FileEntry& f, const omf::Superblock& sb);

class Namespace {
  public:
    explicit Namespace(const omf::Superblock& sb);
    Namespace(Namespace&&) = default;

    // Adds the entry logged at `index`. An invalid entry (bad path, missing
    // parent, duplicate, bad map) is recorded in problems() and returned as
    // an error; the tree is unchanged. Non-namespace entries are ignored.
    Status apply(omf::LogEntry entry, uint64_t index);

    const Node& root() const { return *root_; }
    const Node* lookup(std::string_view relpath) const;
    const Node* find_ino(uint64_t ino) const;
    const std::vector<Problem>& problems() const { return problems_; }
    uint64_t files() const { return files_; }
    uint64_t dirs() const { return dirs_; }
    // Entries applied so far (valid or not): the next log index to apply.
    uint64_t applied() const { return applied_; }

    // Every node, in depth-first path order (children sorted by name).
    template <class F>
    void for_each(F&& fn) const {
        walk(*root_, fn);
    }

  private:
    template <class F>
    static void walk(const Node& n, F& fn) {
        fn(n);
        for (const Node* child : sorted_children(n)) walk(*child, fn);
    }
    static std::vector<const Node*> sorted_children(const Node& n);
    // Moves `node` into the tree on success; leaves it with the caller on failure.
    Status add_node(std::unique_ptr<Node>& node, std::string_view relpath, uint64_t index);
    // The node at relpath, mutable: the tree owns its nodes.
    Node* find_node(std::string_view relpath) const;

    omf::Superblock sb_;
    std::unique_ptr<Node> root_;
    std::vector<Node*> by_index_;  // log index -> node (nullptr for skipped)
    std::vector<Problem> problems_;
    uint64_t files_ = 0, dirs_ = 0, applied_ = 0;
};

}  // namespace famfs
