// The namespace built by replaying the log: a tree of directories and files.
// A DELETE unlinks a node from the tree but never frees it, so node
// pointers stay valid for the life of the Namespace (a server may still
// hold a deleted file open); callers that share one across threads
// serialise apply() against readers themselves.
//
// Which paths exist, and which entries are refused, is the PathIndex's;
// this adds the node of every path. Nodes live in chunks (one allocation
// per thousands of entries) and never move; a node's name is a view into
// its own relpath.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "famfs/omf.h"
#include "famfs/path_index.h"
#include "famfs/result.h"

namespace famfs {

struct Node {
    Node() = default;
    Node(const Node&) = delete;  // `name` points into this node's own relpath
    Node& operator=(const Node&) = delete;

    uint64_t ino = 0;  // 1 for the root, log index + 2 otherwise: equal on every host
    PathIndex::Id path_id = PathIndex::kRoot;
    std::string_view name;  // the last component of relpath()
    Node* parent = nullptr;
    bool is_dir = false;
    uint32_t mode = 0;  // permission bits, as logged
    uint32_t uid = 0, gid = 0;
    uint64_t log_index = 0;
    omf::FileEntry file;      // files only: relpath, size, flags and map
    std::string dir_relpath;  // directories only

    // Directories only: children in log order, linked through next_sibling.
    Node* first_child = nullptr;
    Node* last_child = nullptr;
    Node* next_sibling = nullptr;
    Node* prev_sibling = nullptr;
    uint64_t nchildren = 0;
    // Set by a DELETE: the node is out of the tree, found by no lookup.
    std::optional<uint64_t> deleted_at;

    uint64_t size() const { return is_dir ? 0 : file.size; }
    // "" for the root.
    const std::string& relpath() const { return is_dir ? dir_relpath : file.relpath; }
};

// Something replay refused to instantiate.
struct Problem {
    uint64_t index = 0;
    std::string relpath;
    std::string reason;
};

// Extent rules of docs/format.md against this superblock: alignment, count,
// offsets never inside the superblock/log, never past the device, and
// enough space for `size`.
Status validate_file_map(const omf::FileEntry& f, const omf::Superblock& sb);

class Namespace {
  public:
    explicit Namespace(const omf::Superblock& sb);
    Namespace(Namespace&&) = default;
    Namespace& operator=(Namespace&&) = default;

    // Adds the entry logged at `index`. An invalid entry (bad path, missing
    // parent, duplicate, bad map) is recorded in problems() and returned as
    // an error; the tree is unchanged. Non-namespace entries are ignored.
    Status apply(omf::LogEntry entry, uint64_t index);
    // The same with the file map's validate_file_map verdict already known.
    Status apply(omf::LogEntry entry, uint64_t index, const Status& map);
    // Makes room for `more` entries, so a replay never rehashes.
    void reserve(uint64_t more);

    const Node& root() const { return *root_; }
    const Node* lookup(std::string_view relpath) const;
    const Node* child(const Node& dir, std::string_view name) const;
    const Node* find_ino(uint64_t ino) const;  // nullptr for deleted nodes
    // Deleted nodes too: a server keeps serving a deleted file's open handles.
    const Node* find_ino_or_deleted(uint64_t ino) const;
    // The node logged at `index`, deleted or not (nullptr when refused or
    // not a file or directory).
    const Node* node_at(uint64_t index) const;
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
    static std::vector<const Node*> sorted_children(const Node& n);

  private:
    template <class F>
    static void walk(const Node& n, F& fn) {
        fn(n);
        for (const Node* c : sorted_children(n)) walk(*c, fn);
    }
    Node& new_node();  // from the chunks: never moves, never freed alone
    void link(Node& node, Node* parent);
    void unlink(Node& node);
    Status apply_delete(const omf::DeleteEntry& d, uint64_t index);
    Node* node_of(PathIndex::Id id) const;  // nullptr for kNone

    omf::Superblock sb_;
    std::vector<std::unique_ptr<Node[]>> chunks_;
    size_t used_in_chunk_ = 0;
    Node* root_ = nullptr;
    PathIndex paths_;
    std::vector<Node*> by_index_;  // log index -> node (nullptr for skipped)
    std::vector<Problem> problems_;
    uint64_t files_ = 0, dirs_ = 0, applied_ = 0;
};

}  // namespace famfs
