// labmem: a guest-side helper for the lab. devdax character devices support
// only mmap (no read/write), so this maps a device file MAP_SHARED and fills,
// checks, peeks or pokes bytes at an offset. It proves that two hosts really
// share memory, and later serves fault-injection scenarios.
//
//   labmem size  DEV
//   labmem fill  DEV --offset N --length L --seed S     pattern write, prints MB/s
//   labmem check DEV --offset N --length L --seed S     exit 1 at the first mismatch
//   labmem memset DEV --offset N --length L [--seed B]  memset to byte B, prints MB/s
//   labmem peek  DEV --offset N [--length L]            hex dump
//   labmem poke  DEV --offset N HEXBYTES                 write bytes
//   labmem phys  DEV --offset N                          guest-physical address (devdax)
//   labmem reread FILE --offset N --length L --wait FLAG --out PREFIX
//        one open, two pread()s of the range (before and after FLAG appears),
//        saved as PREFIX.1 and PREFIX.2: what a long-open descriptor sees
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace {

// devdax mappings must be aligned to the device alignment (2 MiB by default).
constexpr uint64_t kMapAlign = 2ull << 20;

struct Options {
    std::string verb;
    std::string device;
    uint64_t offset = 0;
    uint64_t length = 0;
    uint64_t seed = 1;
    std::string hex;
    std::string wait;  // reread: a file whose appearance starts the second read
    std::string out;   // reread: where the two reads go
};

struct Mapping {
    uint8_t* base = nullptr;
    size_t map_len = 0;
    uint8_t* at = nullptr;  // the byte at the requested offset
};

std::optional<uint64_t> parse_size(std::string s) {
    if (s.empty()) return std::nullopt;
    uint64_t mult = 1;
    char last = s.back();
    if (last == 'k' || last == 'K') mult = 1ull << 10;
    if (last == 'm' || last == 'M') mult = 1ull << 20;
    if (last == 'g' || last == 'G') mult = 1ull << 30;
    if (mult != 1) s.pop_back();
    char* end = nullptr;
    errno = 0;
    uint64_t v = std::strtoull(s.c_str(), &end, 0);
    if (errno || end == s.c_str() || *end) return std::nullopt;
    return v * mult;
}

int usage() {
    std::fprintf(
        stderr,
        "usage: labmem size|fill|check|memset|peek|poke|phys|reread DEV [--offset N] [--length L] "
        "[--seed S] [--wait FLAG] [--out PREFIX] [HEXBYTES]\n");
    return 2;
}

std::optional<Options> parse(int argc, char** argv) {
    if (argc < 3) return std::nullopt;
    Options o;
    o.verb = argv[1];
    o.device = argv[2];
    for (int i = 3; i < argc; ++i) {
        std::string a = argv[i];
        uint64_t* target = a == "--offset"   ? &o.offset
                           : a == "--length" ? &o.length
                           : a == "--seed"   ? &o.seed
                                             : nullptr;
        std::string* text = a == "--wait" ? &o.wait : a == "--out" ? &o.out : nullptr;
        if (target) {
            if (i + 1 >= argc) return std::nullopt;
            auto v = parse_size(argv[++i]);
            if (!v) return std::nullopt;
            *target = *v;
        } else if (text) {
            if (i + 1 >= argc) return std::nullopt;
            *text = argv[++i];
        } else {
            o.hex = a;
        }
    }
    return o;
}

// Size of a devdax device comes from sysfs; files and PCI resources stat.
std::optional<uint64_t> device_size(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::nullopt;
    if (!S_ISCHR(st.st_mode)) return static_cast<uint64_t>(st.st_size);
    std::ifstream in("/sys/dev/char/" + std::to_string(major(st.st_rdev)) + ":" +
                     std::to_string(minor(st.st_rdev)) + "/size");
    uint64_t size = 0;
    if (!(in >> size)) return std::nullopt;
    return size;
}

std::optional<Mapping> map_range(const std::string& path, uint64_t offset, uint64_t length,
                                 bool writable) {
    int fd = ::open(path.c_str(), writable ? O_RDWR : O_RDONLY);
    if (fd < 0) {
        std::fprintf(stderr, "labmem: open %s: %s\n", path.c_str(), std::strerror(errno));
        return std::nullopt;
    }
    uint64_t start = offset & ~(kMapAlign - 1);
    uint64_t end = (offset + length + kMapAlign - 1) & ~(kMapAlign - 1);
    auto size = device_size(path);
    if (size && end > *size) end = *size;
    if (size && offset + length > *size) {
        std::fprintf(stderr, "labmem: range beyond device size %llu\n",
                     static_cast<unsigned long long>(*size));
        ::close(fd);
        return std::nullopt;
    }
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void* p = ::mmap(nullptr, end - start, prot, MAP_SHARED, fd, static_cast<off_t>(start));
    ::close(fd);
    if (p == MAP_FAILED) {
        std::fprintf(stderr, "labmem: mmap %s: %s\n", path.c_str(), std::strerror(errno));
        return std::nullopt;
    }
    Mapping m{static_cast<uint8_t*>(p), end - start, nullptr};
    m.at = m.base + (offset - start);
    return m;
}

// Position-addressed pattern: any sub-range can be checked on its own.
uint64_t pattern_word(uint64_t seed, uint64_t index) {
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + index + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// The pattern is built in a local buffer and moved with memcpy: wide copies
// are what makes emulated CXL MMIO tolerable (byte stores are 50x slower).
constexpr uint64_t kChunk = 1ull << 20;

void make_pattern(uint64_t seed, uint64_t pos, uint8_t* out, uint64_t len) {
    for (uint64_t i = 0; i < len;) {
        uint64_t word = pattern_word(seed, (pos + i) / 8);
        uint64_t skip = (pos + i) % 8;
        uint64_t n = std::min<uint64_t>(8 - skip, len - i);
        std::memcpy(out + i, reinterpret_cast<uint8_t*>(&word) + skip, n);
        i += n;
    }
}

double mb_per_s(uint64_t bytes, std::chrono::steady_clock::time_point start) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return s > 0 ? static_cast<double>(bytes) / s / 1e6 : 0;
}

int do_fill(const Options& o) {
    auto m = map_range(o.device, o.offset, o.length, true);
    if (!m) return 2;
    std::vector<uint8_t> buf(kChunk);
    auto start = std::chrono::steady_clock::now();
    for (uint64_t done = 0; done < o.length; done += kChunk) {
        uint64_t n = std::min(kChunk, o.length - done);
        make_pattern(o.seed, o.offset + done, buf.data(), n);
        std::memcpy(m->at + done, buf.data(), n);
    }
    std::printf("filled %llu bytes at offset %llu seed %llu: %.1f MB/s\n",
                static_cast<unsigned long long>(o.length),
                static_cast<unsigned long long>(o.offset), static_cast<unsigned long long>(o.seed),
                mb_per_s(o.length, start));
    ::munmap(m->base, m->map_len);
    return 0;
}

// Plain memset: the raw store speed of the shared memory in this guest.
int do_memset(const Options& o) {
    auto m = map_range(o.device, o.offset, o.length, true);
    if (!m) return 2;
    auto start = std::chrono::steady_clock::now();
    std::memset(m->at, static_cast<int>(o.seed & 0xff), o.length);
    std::printf("memset %llu bytes at offset %llu: %.1f MB/s\n",
                static_cast<unsigned long long>(o.length),
                static_cast<unsigned long long>(o.offset), mb_per_s(o.length, start));
    ::munmap(m->base, m->map_len);
    return 0;
}

int do_check(const Options& o) {
    auto m = map_range(o.device, o.offset, o.length, false);
    if (!m) return 2;
    std::vector<uint8_t> want(kChunk), have(kChunk);
    auto start = std::chrono::steady_clock::now();
    for (uint64_t done = 0; done < o.length; done += kChunk) {
        uint64_t n = std::min(kChunk, o.length - done);
        make_pattern(o.seed, o.offset + done, want.data(), n);
        std::memcpy(have.data(), m->at + done, n);
        if (std::memcmp(have.data(), want.data(), n) == 0) continue;
        uint64_t i = 0;
        while (have[i] == want[i]) ++i;
        std::printf("mismatch at offset %llu: have 0x%02x want 0x%02x\n",
                    static_cast<unsigned long long>(o.offset + done + i), have[i], want[i]);
        return 1;
    }
    std::printf("verified %llu bytes at offset %llu seed %llu: %.1f MB/s\n",
                static_cast<unsigned long long>(o.length),
                static_cast<unsigned long long>(o.offset), static_cast<unsigned long long>(o.seed),
                mb_per_s(o.length, start));
    ::munmap(m->base, m->map_len);
    return 0;
}

int do_peek(const Options& o) {
    uint64_t len = o.length ? o.length : 64;
    auto m = map_range(o.device, o.offset, len, false);
    if (!m) return 2;
    for (uint64_t i = 0; i < len; ++i) {
        if (i % 16 == 0)
            std::printf("%s%012llx:", i ? "\n" : "", static_cast<unsigned long long>(o.offset + i));
        std::printf(" %02x", m->at[i]);
    }
    std::printf("\n");
    ::munmap(m->base, m->map_len);
    return 0;
}

int do_poke(const Options& o) {
    if (o.hex.empty() || o.hex.size() % 2) return usage();
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i < o.hex.size(); i += 2)
        bytes.push_back(
            static_cast<uint8_t>(std::strtoul(o.hex.substr(i, 2).c_str(), nullptr, 16)));
    auto m = map_range(o.device, o.offset, bytes.size(), true);
    if (!m) return 2;
    std::memcpy(m->at, bytes.data(), bytes.size());
    ::munmap(m->base, m->map_len);
    return 0;
}

// A PCI BAR file (.../resourceN, e.g. ivshmem): its physical start is the
// first field of line N of the sibling "resource" file.
std::optional<uint64_t> pci_bar_base(const std::string& device) {
    char* real = ::realpath(device.c_str(), nullptr);
    if (!real) return std::nullopt;
    std::string path(real);
    std::free(real);
    auto slash = path.find_last_of('/');
    std::string base = path.substr(slash + 1);
    if (base.rfind("resource", 0) != 0 || base.size() == 8) return std::nullopt;
    int bar = std::atoi(base.c_str() + 8);
    std::ifstream in(path.substr(0, slash) + "/resource");
    std::string line;
    for (int i = 0; i <= bar; ++i) {
        if (!std::getline(in, line)) return std::nullopt;
    }
    return std::strtoull(line.c_str(), nullptr, 0);
}

// A devdax device's sysfs "resource" is the physical start of its data.
std::optional<uint64_t> dax_base(const std::string& device) {
    struct stat st {};
    if (::stat(device.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) return std::nullopt;
    std::ifstream in("/sys/dev/char/" + std::to_string(major(st.st_rdev)) + ":" +
                     std::to_string(minor(st.st_rdev)) + "/resource");
    std::string text;
    if (!(in >> text)) return std::nullopt;
    return std::strtoull(text.c_str(), nullptr, 0);
}

// Guest-physical address of a device offset, for machine-check injection.
int do_phys(const Options& o) {
    auto base = dax_base(o.device);
    if (!base) base = pci_bar_base(o.device);
    if (!base) {
        std::fprintf(stderr, "labmem: no physical address for %s (devdax or PCI resource only)\n",
                     o.device.c_str());
        return 2;
    }
    std::printf("0x%llx\n", static_cast<unsigned long long>(*base + o.offset));
    return 0;
}

bool pread_to_file(int fd, const Options& o, const std::string& dest) {
    std::vector<char> buf(o.length);
    ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(o.offset));
    if (n < 0) {
        std::fprintf(stderr, "labmem: pread %s: %s\n", o.device.c_str(), std::strerror(errno));
        return false;
    }
    std::ofstream out(dest, std::ios::binary);
    out.write(buf.data(), n);
    return bool(out);
}

int do_reread(const Options& o) {
    int fd = ::open(o.device.c_str(), O_RDONLY);
    if (fd < 0) {
        std::fprintf(stderr, "labmem: open %s: %s\n", o.device.c_str(), std::strerror(errno));
        return 2;
    }
    int rc = pread_to_file(fd, o, o.out + ".1") ? 0 : 1;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (rc == 0 && ::access(o.wait.c_str(), F_OK) != 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            std::fprintf(stderr, "labmem: %s did not appear within 60 s\n", o.wait.c_str());
            rc = 1;
        }
        ::usleep(10000);
    }
    if (rc == 0 && !pread_to_file(fd, o, o.out + ".2")) rc = 1;
    ::close(fd);
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    auto o = parse(argc, argv);
    if (!o) return usage();
    if (o->verb == "size") {
        auto s = device_size(o->device);
        if (!s) return 2;
        std::printf("%llu\n", static_cast<unsigned long long>(*s));
        return 0;
    }
    if (o->verb == "fill") return o->length ? do_fill(*o) : usage();
    if (o->verb == "check") return o->length ? do_check(*o) : usage();
    if (o->verb == "memset") return o->length ? do_memset(*o) : usage();
    if (o->verb == "peek") return do_peek(*o);
    if (o->verb == "poke") return do_poke(*o);
    if (o->verb == "phys") return do_phys(*o);
    if (o->verb == "reread")
        return o->length && !o->wait.empty() && !o->out.empty() ? do_reread(*o) : usage();
    return usage();
}
