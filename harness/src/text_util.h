// Small string helpers shared by the parsers and the command builders.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lab {

std::string trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
bool starts_with(std::string_view s, std::string_view prefix);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Quotes a word for /bin/sh so it reaches the command unchanged.
std::string shell_quote(std::string_view word);

// Parses "1073741824", "512M", "1G", "64k" (powers of 1024).
std::optional<uint64_t> parse_size(std::string_view s);
std::optional<uint64_t> parse_uint(std::string_view s);

}  // namespace lab
