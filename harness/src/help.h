#pragma once

namespace lab {

// The text of `harness --help`: the lab's user manual in one screen or two.
extern const char* const kHelpText;

}  // namespace lab
