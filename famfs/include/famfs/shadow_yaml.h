// The reference famfs's shadow file: the metadata of one famfs file (its
// log entry) as a small YAML document, one per file, in a "shadow tree"
// that the reference's FUSE daemon serves the namespace from.
//
//   file:
//     path: RELPATH
//     size: BYTES              decimal
//     flags: FLAGS             decimal
//     mode: 0OCTAL
//     uid: UID                 decimal (printed as a signed 32-bit value)
//     gid: GID
//     nextents: N              simple extents, or 1 for a striped file
//     simple_ext_list:         or striped_ext_list (always the last key)
//       - devindex: 0
//         offset: 0xHEX
//         length: 0xHEX
//
// A striped file has `striped_ext_list`: one item with `nstrips`,
// `chunk_size` (0xHEX) and the strips as its own `simple_ext_list` (last).
// The reference reads these with libyaml's event parser, which requires
// exactly this nesting and the extent lists last; to_yaml() writes them so.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "famfs/omf.h"
#include "famfs/result.h"

namespace famfs::shadow {

// The shadow file of a logged file, in the reference's field order and
// number formats.
Result<std::string> to_yaml(const omf::FileEntry& file);

// Parses a shadow file's text. Accepts what the reference's reader
// accepts: numbers in decimal, 0x hex or 0-prefixed octal, optionally
// signed (the reference prints uid 4294967295 as -1), keys in any order,
// fields it leaves out as 0, unknown keys inside an extent ignored. Errors
// start with `name` (the file) and give the reason and, for syntax errors,
// the line and column.
Result<omf::FileEntry> from_yaml(std::string_view text, const std::string& name);

// How `parsed` differs from `logged`, one "field: X in the log, Y in the
// file" line per field (strips and extents are compared one by one); empty
// when they are the same.
std::vector<std::string> differences(const omf::FileEntry& logged, const omf::FileEntry& parsed);

}  // namespace famfs::shadow
