// Size arguments as the famfs CLI has always taken them: digits (or 0x-hex)
// with an optional last-character multiplier k/K, m/M, g/G.
#include "famfs/sizes.h"

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <iterator>
#include <limits>

namespace famfs {
namespace {

int multiplier_shift(char suffix) {
    switch (suffix) {
        case 'k':
        case 'K':
            return 10;
        case 'm':
        case 'M':
            return 20;
        case 'g':
        case 'G':
            return 30;
        default:
            return -1;
    }
}

int digit_value(char c, unsigned base) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isdigit(u)) return c - '0';
    if (base == 16 && std::isxdigit(u)) return std::tolower(u) - 'a' + 10;
    return -1;
}

Error size_error(const std::string& text, const char* reason) {
    return make_error(EINVAL, "invalid size '" + text + "': " + reason);
}

}  // namespace

Result<uint64_t> parse_size(const std::string& text) {
    std::string digits = text;
    int shift = 0;
    if (!digits.empty() && multiplier_shift(digits.back()) >= 0) {
        shift = multiplier_shift(digits.back());
        digits.pop_back();
    }
    unsigned base = 10;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        digits.erase(0, 2);
    }
    if (digits.empty()) return size_error(text, "no digits");

    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    uint64_t value = 0;
    for (char c : digits) {
        const int d = digit_value(c, base);
        if (d < 0) return size_error(text, "not a number with an optional k/m/g suffix");
        if (value > (kMax - static_cast<uint64_t>(d)) / base) return size_error(text, "too large");
        value = value * base + static_cast<uint64_t>(d);
    }
    if (shift > 0 && value > (kMax >> shift)) return size_error(text, "too large");
    return value << shift;
}

std::string human_size(uint64_t bytes) {
    static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    char buf[32];
    if (bytes < 1024) {
        std::snprintf(buf, sizeof buf, "%" PRIu64 " B", bytes);
        return buf;
    }
    double v = static_cast<double>(bytes) / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(kUnits)) {
        v /= 1024;
        ++u;
    }
    std::snprintf(buf, sizeof buf, "%.2f %s", v, kUnits[u]);
    return buf;
}

}  // namespace famfs
