// The reference famfs tool's YAML description of a file ("---" ... "..."):
// path, size, flags, mode, uid, gid and the extent list (simple extents, or
// the interleave parameters and strips of a striped file). getmap and the
// golden tests print it; its text must match the reference byte for byte.
#pragma once

#include <string>

#include "famfs/omf.h"

namespace famfs {

std::string describe_file(const omf::FileEntry& file);

}  // namespace famfs
