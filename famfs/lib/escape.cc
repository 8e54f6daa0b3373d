#include "famfs/escape.h"

#include <cstddef>
#include <cstdint>

namespace famfs {
namespace {

void hex_byte(std::string& out, unsigned char b) {
    constexpr char kHex[] = "0123456789abcdef";
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 15];
}

// Code points that are well-formed but change how a terminal lays text out.
bool invisible_control(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0x9f) ||      // C1 controls
           cp == 0x200e || cp == 0x200f ||    // LRM, RLM
           cp == 0x2028 || cp == 0x2029 ||    // line and paragraph separators
           (cp >= 0x202a && cp <= 0x202e) ||  // bidi embeddings and overrides
           (cp >= 0x2066 && cp <= 0x2069) ||  // bidi isolates
           cp == 0xfeff;                      // zero-width no-break space (BOM)
}

// The length of the well-formed UTF-8 sequence at s[at] (2..4 bytes), and
// its code point; 0 when the bytes there are not one.
size_t utf8_sequence(std::string_view s, size_t at, uint32_t& cp) {
    const auto b0 = static_cast<unsigned char>(s[at]);
    size_t len;
    uint32_t min;
    if ((b0 & 0xe0) == 0xc0) {
        len = 2, min = 0x80, cp = b0 & 0x1f;
    } else if ((b0 & 0xf0) == 0xe0) {
        len = 3, min = 0x800, cp = b0 & 0x0f;
    } else if ((b0 & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, cp = b0 & 0x07;
    } else {
        return 0;
    }
    if (s.size() - at < len) return 0;
    for (size_t i = 1; i < len; ++i) {
        const auto b = static_cast<unsigned char>(s[at + i]);
        if ((b & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (b & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and values past Unicode are not UTF-8.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
    return len;
}

}  // namespace

std::string escaped(std::string_view s, std::string_view also) {
    std::string out;
    out.reserve(s.size());
    for (size_t at = 0; at < s.size();) {
        const auto b = static_cast<unsigned char>(s[at]);
        if (b < 0x80) {
            if (b < 0x20 || b == 0x7f || b == '\\' || also.find(s[at]) != std::string_view::npos)
                hex_byte(out, b);
            else
                out += s[at];
            ++at;
            continue;
        }
        uint32_t cp = 0;
        const size_t len = utf8_sequence(s, at, cp);
        if (len == 0 || invisible_control(cp)) {
            // Byte by byte: a malformed sequence may hide a valid one after it.
            const size_t n = len == 0 ? 1 : len;
            for (size_t i = 0; i < n; ++i) hex_byte(out, static_cast<unsigned char>(s[at + i]));
            at += n;
        } else {
            out.append(s.substr(at, len));
            at += len;
        }
    }
    return out;
}

}  // namespace famfs
