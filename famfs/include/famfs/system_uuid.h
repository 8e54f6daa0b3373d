// Host identity and roles. Each host has a system UUID in
// /opt/famfs/system_uuid (created at random on first use); the environment
// variable FAMFS_SYSTEM_UUID_FILE points elsewhere, so tests can play several
// hosts on one machine. The host whose UUID is in the superblock is the
// master, the only one that may append to the log.
#pragma once

#include <string>

#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs {

enum class Role { kMaster, kClient };
const char* to_string(Role role);

std::string system_uuid_path();
// Reads the local system UUID, creating the file when it does not exist.
Result<omf::Uuid> local_system_uuid();

}  // namespace famfs
