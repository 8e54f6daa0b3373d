// Names from the log are written by whoever wrote the log (a buggy or
// hostile master, a corrupted device) and may hold any byte. Everything that
// prints a relpath, or a message that may contain one, passes it through
// escaped(), so that no control byte (newline, ESC, ...) reaches a terminal
// or splits a line of output.
#pragma once

#include <string>
#include <string_view>

namespace famfs {

// `s` with every byte that is not printable as \xHH (lower-case hex):
// C0 controls, DEL, bytes that are not part of well-formed UTF-8, and the
// UTF-8 encodings of C1 controls, line/paragraph separators and the
// bidirectional formatting characters (which reorder what a terminal
// shows). The backslash itself and every byte of `also` (a caller's
// separator, for example ',') are escaped too, so the result reads back
// unambiguously. Printable ASCII and other well-formed UTF-8 stay as
// they are.
std::string escaped(std::string_view s, std::string_view also = {});

}  // namespace famfs
