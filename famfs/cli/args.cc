#include "args.h"

#include <getopt.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "famfs/sizes.h"
#include "report.h"

namespace famfs::cli {

void reset_getopt() {
    optind = 0;  // glibc: 0 re-initialises the scanner, so a second parse starts clean
    opterr = 1;
}

// getopt returns '?' both for -? and for an unknown option, and optopt
// cannot tell them apart (0 for -? and for unknown long options alike), so
// look at the argument itself.
bool help_requested(int c, char** argv) {
    if (c == 'h') return true;
    if (c != '?' || optind <= 0) return false;
    const char* arg = argv[optind - 1];
    return std::strcmp(arg, "-?") == 0 || std::strcmp(arg, "--help") == 0;
}

bool help_requested(int c) {
    return c == 'h' || (c == '?' && (optopt == 0 || optopt == '?'));
}

Result<uint64_t> parse_number(const std::string& text, const char* what) {
    if (text.empty() || text[0] == '-') {
        return make_error(EINVAL, std::string("invalid ") + what + " '" + text + "'");
    }
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 0);
    if (errno != 0 || end == text.c_str() || *end != '\0') {
        return make_error(EINVAL, std::string("invalid ") + what + " '" + text + "'");
    }
    return static_cast<uint64_t>(v);
}

Result<uint64_t> parse_thread_count(const std::string& text) {
    constexpr uint64_t kMaxThreads = 256;
    auto n = parse_number(text, "thread count");
    if (n && *n > kMaxThreads)
        return make_error(EINVAL, "thread count " + text + " is out of range (0.." +
                                      std::to_string(kMaxThreads) + ")");
    return n;
}

Result<uint32_t> parse_id(const std::string& text, const char* what) {
    auto v = parse_number(text, what);
    if (!v) return v.error();
    if (*v > UINT32_MAX) return make_error(ERANGE, std::string(what) + " out of range: " + text);
    return static_cast<uint32_t>(*v);
}

Result<uint32_t> parse_mode(const std::string& text) {
    errno = 0;
    char* end = nullptr;
    const unsigned long v = std::strtoul(text.c_str(), &end, 8);
    if (text.empty() || errno != 0 || *end != '\0' || v > 07777) {
        return make_error(EINVAL, "invalid mode '" + text + "' (octal permission bits expected)");
    }
    return static_cast<uint32_t>(v);
}

Result<uint64_t> parse_size_arg(const std::string& text, const char* what) {
    auto v = parse_size(text);
    if (!v) return make_error(EINVAL, std::string("invalid ") + what + " '" + text + "'");
    return *v;
}

Result<FileSpecArg> parse_file_spec(const std::string& text) {
    const auto bad = [&](const std::string& why) {
        return make_error(EINVAL, "invalid file spec '" + text + "' (NAME,SIZE[,SEED]): " + why);
    };
    const size_t c1 = text.find(',');
    if (c1 == std::string::npos || c1 == 0) return bad("missing name or size");
    const size_t c2 = text.find(',', c1 + 1);
    FileSpecArg spec;
    spec.name = text.substr(0, c1);
    auto size =
        parse_size(text.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1));
    if (!size) return bad("size must be a number (0: the existing file's size)");
    spec.size = *size;
    if (c2 != std::string::npos) {
        auto seed = parse_number(text.substr(c2 + 1), "seed");
        if (!seed) return bad(seed.error().message);
        spec.seed = *seed;
    }
    return spec;
}

namespace {

template <class T>
Status store(Result<T> r, uint64_t& into) {
    if (!r) return r.error();
    into = *r;
    return {};
}

}  // namespace

std::optional<Status> parse_interleave_option(int c, const char* arg, InterleaveParams& ip) {
    switch (c) {
        case 'N':
            return store(parse_number(arg, "strip count"), ip.nstrips);
        case 'B':
            return store(parse_number(arg, "bucket count"), ip.nbuckets);
        case 'C':
            return store(parse_size_arg(arg, "chunk size"), ip.chunk_size);
        default:
            return std::nullopt;
    }
}

void default_interleave_chunk(InterleaveParams& ip) {
    if ((ip.nstrips != 0 || ip.nbuckets != 0) && ip.chunk_size == 0) {
        ip.chunk_size = kDefaultChunkSize;
    }
}

std::optional<int> parse_flag_only(int argc, char** argv, void (*usage)(FILE*), char flag,
                                   bool& set) {
    return parse_flag_only(argc, argv, usage, flag, nullptr, set);
}

std::optional<int> parse_flag_only(int argc, char** argv, void (*usage)(FILE*), char flag,
                                   const char* long_name, bool& set) {
    const char options[] = {flag, 'h', '?', '\0'};
    const option longopts[] = {{long_name != nullptr ? long_name : "", no_argument, nullptr, flag},
                               {"help", no_argument, nullptr, 'h'},
                               {nullptr, 0, nullptr, 0}};
    reset_getopt();
    for (int c; (c = getopt_long(argc, argv, options,
                                 long_name != nullptr ? longopts : longopts + 1, nullptr)) != -1;) {
        if (c == flag) {
            set = true;
            continue;
        }
        usage(help_requested(c, argv) ? stdout : stderr);
        return help_requested(c, argv) ? 0 : kExitUsage;
    }
    return std::nullopt;
}

bool LogAccessFlags::take(int c) {
    if (c == 'm') {
        mmap_ = true;
    } else if (c == 'r') {
        read_ = true;
    } else {
        return false;
    }
    return true;
}

bool LogAccessFlags::check(const char* cmd) const {
    if (!(mmap_ && read_)) return true;
    report_problem(cmd, "-m/--mmap and -r/--read are mutually exclusive");
    return false;
}

uint32_t current_umask() {
    const mode_t m = umask(0);
    umask(m);
    return m;
}

}  // namespace famfs::cli
