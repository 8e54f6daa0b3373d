// Host identity and roles. Each host has a system UUID in
// /opt/famfs/system_uuid (created at random on first use); the environment
// variable FAMFS_SYSTEM_UUID_FILE points elsewhere, so tests can play several
// hosts on one machine. The host whose UUID is in the superblock is the
// master, the only one that may append to the log.
#pragma once

#include <string>
#include <string_view>

#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs {

enum class Role { kMaster, kClient };
const char* to_string(Role role);

std::string system_uuid_path();
// The UUID a system-UUID file holds. Both writers' layouts are read: ours
// (the UUID and a newline) and the reference famfs's (the 36 characters and
// one NUL byte); whitespace and NUL bytes around the UUID are ignored. The
// error says what is wrong with `text` (the caller names the file).
Result<omf::Uuid> parse_system_uuid(std::string_view text);
// Reads the local system UUID, creating the file when it does not exist.
// A file that does not hold a UUID is an error naming the file: a host must
// never silently lose its master role.
Result<omf::Uuid> local_system_uuid();

}  // namespace famfs
