// CRC-32 (IEEE, reflected; zlib's crc32) for log entries. Replay checks one
// CRC per entry, and a full log is 8 MiB of them, so the bulk is folded 16
// bytes at a time with carry-less multiplication where the CPU has it; the
// last 16 bytes and the tail go through tables eight bytes at a time
// (slicing-by-8), which also serves CPUs without PCLMUL. Unit tests check
// the result against zlib for every length.
#include <cpuid.h>
#include <immintrin.h>

#include <array>
#include <cstring>

#include "famfs/omf.h"

namespace famfs::omf {
namespace {

constexpr uint32_t kPoly = 0xedb88320u;  // reflected IEEE polynomial

// kTables[k][b]: the register after byte b followed by k zero bytes.
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
    std::array<std::array<uint32_t, 256>, 8> t{};
    for (uint32_t b = 0; b < 256; ++b) {
        uint32_t r = b;
        for (int i = 0; i < 8; ++i) r = (r >> 1) ^ (r & 1 ? kPoly : 0);
        t[0][b] = r;
    }
    for (size_t k = 1; k < 8; ++k)
        for (uint32_t b = 0; b < 256; ++b) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
    return t;
}
constexpr auto kTables = make_tables();

uint32_t advance(uint32_t reg, const uint8_t* p, size_t n) {
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t v;
        std::memcpy(&v, p, sizeof v);  // little-endian, as the CRC's bit order wants
        v ^= reg;
        reg = kTables[7][v & 0xff] ^ kTables[6][(v >> 8) & 0xff] ^ kTables[5][(v >> 16) & 0xff] ^
              kTables[4][(v >> 24) & 0xff] ^ kTables[3][(v >> 32) & 0xff] ^
              kTables[2][(v >> 40) & 0xff] ^ kTables[1][(v >> 48) & 0xff] ^ kTables[0][v >> 56];
    }
    for (; n > 0; ++p, --n) reg = (reg >> 8) ^ kTables[0][(reg ^ *p) & 0xff];
    return reg;
}

bool have_pclmul() {
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_PCLMUL) && (ecx & bit_SSE4_1);
}

// Folding constants for the reflected polynomial 0xEDB88320: x^(d+32) and
// x^(d-32) modulo P, bit-reflected and shifted left by one, for the low and
// high 64-bit halves of a 128-bit block folded over a distance d of 128 bits
// (one block) or 512 bits (four blocks, four independent chains).
constexpr uint64_t kFold1Low = 0x1751997d0ULL, kFold1High = 0x0ccaa009eULL;
constexpr uint64_t kFold4Low = 0x154442bd4ULL, kFold4High = 0x1c6e41596ULL;

__attribute__((target("pclmul,sse4.1"))) inline __m128i fold_into(__m128i x, __m128i k,
                                                                  __m128i next) {
    __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
    __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

__attribute__((target("pclmul,sse4.1"))) inline __m128i load(const uint8_t* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// Folds n >= 32 bytes (a multiple of 16) into one 16-byte block whose CRC
// (from a zero register) equals the register after processing all n bytes
// from `crc_register`.
__attribute__((target("pclmul,sse4.1"))) void fold(const uint8_t* p, size_t n,
                                                   uint32_t crc_register, uint8_t out[16]) {
    const __m128i k1 =
        _mm_set_epi64x(static_cast<long long>(kFold1High), static_cast<long long>(kFold1Low));
    const __m128i k4 =
        _mm_set_epi64x(static_cast<long long>(kFold4High), static_cast<long long>(kFold4Low));
    __m128i x = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(crc_register)));
    size_t off = 16;
    if (n >= 128) {
        __m128i a = x, b = load(p + 16), c = load(p + 32), d = load(p + 48);
        for (off = 64; off + 64 <= n; off += 64) {
            a = fold_into(a, k4, load(p + off));
            b = fold_into(b, k4, load(p + off + 16));
            c = fold_into(c, k4, load(p + off + 32));
            d = fold_into(d, k4, load(p + off + 48));
        }
        x = fold_into(fold_into(fold_into(a, k1, b), k1, c), k1, d);
    }
    for (; off < n; off += 16) x = fold_into(x, k1, load(p + off));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), x);
}

// The same with 256-bit carry-less multiplication (VPCLMULQDQ): four
// chains of two blocks each, 128 bytes a round, for n >= 256.
constexpr uint64_t kFold2Low = 0x0f1da05aaULL, kFold2High = 0x15a546366ULL;
constexpr uint64_t kFold8Low = 0x1e88ef372ULL, kFold8High = 0x14a7fe880ULL;

// AVX2 and VPCLMULQDQ (CPUID leaf 7), with the OS saving YMM registers.
// Asked directly: each CPUID in a VM traps to the hypervisor, and the
// compiler's feature probe asks dozens of them.
bool have_vpclmul() {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE) || !(ecx & bit_AVX))
        return false;
    unsigned xcr0_low, xcr0_high;
    __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    if ((xcr0_low & 0x6) != 0x6) return false;  // SSE and AVX state enabled
    return __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ebx & bit_AVX2) &&
           (ecx & bit_VPCLMULQDQ);
}

__attribute__((target("avx2,vpclmulqdq,pclmul"))) inline __m256i fold_into(__m256i x, __m256i k,
                                                                           __m256i next) {
    __m256i lo = _mm256_clmulepi64_epi128(x, k, 0x00);
    __m256i hi = _mm256_clmulepi64_epi128(x, k, 0x11);
    return _mm256_xor_si256(_mm256_xor_si256(lo, hi), next);
}

__attribute__((target("avx2,vpclmulqdq,pclmul"))) inline __m256i load256(const uint8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

__attribute__((target("avx2,vpclmulqdq,pclmul"))) void fold_wide(const uint8_t* p, size_t n,
                                                                 uint32_t crc_register,
                                                                 uint8_t out[16]) {
    const __m256i k2 =
        _mm256_set_epi64x(static_cast<long long>(kFold2High), static_cast<long long>(kFold2Low),
                          static_cast<long long>(kFold2High), static_cast<long long>(kFold2Low));
    const __m256i k8 =
        _mm256_set_epi64x(static_cast<long long>(kFold8High), static_cast<long long>(kFold8Low),
                          static_cast<long long>(kFold8High), static_cast<long long>(kFold8Low));
    __m256i a = _mm256_xor_si256(
        load256(p), _mm256_zextsi128_si256(_mm_cvtsi32_si128(static_cast<int>(crc_register))));
    __m256i b = load256(p + 32), c = load256(p + 64), d = load256(p + 96);
    size_t off = 128;
    for (; off + 128 <= n; off += 128) {
        a = fold_into(a, k8, load256(p + off));
        b = fold_into(b, k8, load256(p + off + 32));
        c = fold_into(c, k8, load256(p + off + 64));
        d = fold_into(d, k8, load256(p + off + 96));
    }
    const __m256i y = fold_into(fold_into(fold_into(a, k2, b), k2, c), k2, d);
    // The two blocks of y, the first folded onto the second.
    const __m128i k1 =
        _mm_set_epi64x(static_cast<long long>(kFold1High), static_cast<long long>(kFold1Low));
    __m128i x = fold_into(_mm256_castsi256_si128(y), k1, _mm256_extracti128_si256(y, 1));
    for (; off < n; off += 16) x = fold_into(x, k1, load(p + off));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), x);
}

}  // namespace

uint64_t crc32(std::span<const uint8_t> b) {
    static const bool fast = have_pclmul();
    static const bool wide = fast && have_vpclmul();
    size_t blocks = b.size() / 16 * 16;
    // The register starts at all ones and the result is its complement.
    if (!fast || blocks < 32) return ~advance(0xffffffffu, b.data(), b.size());
    uint8_t folded[16];
    if (wide && blocks >= 256)
        fold_wide(b.data(), blocks, 0xffffffffu, folded);
    else
        fold(b.data(), blocks, 0xffffffffu, folded);
    const uint32_t reg = advance(0, folded, sizeof folded);
    return ~advance(reg, b.data() + blocks, b.size() - blocks);
}

}  // namespace famfs::omf
