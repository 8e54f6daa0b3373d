// Command-line parsing for the subcommands: --name VALUE options, boolean
// flags, positional words, and everything after "--" kept verbatim.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "result.h"

namespace lab {

struct Args {
    std::vector<std::string> positional;
    std::map<std::string, std::string> options;
    std::set<std::string> flags;
    std::vector<std::string> rest;
    bool has_rest = false;

    std::string get(const std::string& name, const std::string& fallback = "") const;
    bool flag(const std::string& name) const { return flags.count(name) > 0; }
};

Result<Args> parse_args(const std::vector<std::string>& words);

}  // namespace lab
