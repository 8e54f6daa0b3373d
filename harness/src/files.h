// Whole-file helpers for the small state files in the run directory.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "result.h"

namespace lab {

Result<std::string> read_file(const std::string& path);
// Writes via a temporary file and rename, so readers never see half a file.
Status write_file(const std::string& path, const std::string& content);
Status append_file(const std::string& path, const std::string& content);
Status make_dirs(const std::string& path);
bool file_exists(const std::string& path);
std::string absolute_path(const std::string& path);
// Creates (or truncates and re-creates) a sparse file of `size` bytes.
Status create_sparse_file(const std::string& path, uint64_t size);

// A new private directory under $TMPDIR (or /tmp), and its removal.
std::string make_temp_dir(const std::string& prefix);
void remove_tree(const std::string& path);

// "key = value" lines, the format of lab.state.
std::map<std::string, std::string> parse_key_values(const std::string& text);
std::string format_key_values(const std::map<std::string, std::string>& kv);

}  // namespace lab
