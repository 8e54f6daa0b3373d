#include "text_util.h"

#include <cctype>
#include <charconv>
#include <cstddef>
#include <system_error>

namespace lab {

std::string trim(std::string_view s) {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    return std::string(s.substr(b, e - b));
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == sep) {
            out.emplace_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i) out += sep;
        out += parts[i];
    }
    return out;
}

std::string shell_quote(std::string_view word) {
    bool plain = !word.empty();
    for (char c : word) {
        if (!std::isalnum(static_cast<unsigned char>(c)) &&
            std::string_view("@%+=:,./_-").find(c) == std::string_view::npos) {
            plain = false;
        }
    }
    if (plain) return std::string(word);
    std::string out = "'";
    for (char c : word) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

std::optional<uint64_t> parse_uint(std::string_view s) {
    uint64_t v = 0;
    int base = 10;
    if (starts_with(s, "0x") || starts_with(s, "0X")) {
        s.remove_prefix(2);
        base = 16;
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::optional<uint64_t> parse_size(std::string_view s) {
    if (s.empty()) return std::nullopt;
    uint64_t mult = 1;
    switch (s.back()) {
        case 'k':
        case 'K':
            mult = 1ull << 10;
            break;
        case 'm':
        case 'M':
            mult = 1ull << 20;
            break;
        case 'g':
        case 'G':
            mult = 1ull << 30;
            break;
        default:
            break;
    }
    if (mult != 1) s.remove_suffix(1);
    auto v = parse_uint(s);
    if (!v) return std::nullopt;
    return *v * mult;
}

}  // namespace lab
