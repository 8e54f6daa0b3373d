#include "files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "text_util.h"

namespace lab {

Result<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail("cannot read " + path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Status write_file(const std::string& path, const std::string& content) {
    std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return fail("cannot write " + tmp);
        out << content;
        if (!out.flush()) return fail("cannot write " + tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0)
        return fail("cannot rename " + tmp + ": " + std::strerror(errno));
    return ok();
}

Status append_file(const std::string& path, const std::string& content) {
    // One write() on an O_APPEND fd keeps concurrent harness runs from
    // interleaving inside a record.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return fail("cannot open " + path + ": " + std::strerror(errno));
    ssize_t n = ::write(fd, content.data(), content.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(content.size())) return fail("short write to " + path);
    return ok();
}

Status make_dirs(const std::string& path) {
    std::string cur;
    for (const auto& part : split(path, '/')) {
        cur += part + "/";
        if (part.empty()) continue;
        if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
            return fail("cannot create " + cur + ": " + std::strerror(errno));
    }
    return ok();
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

std::string absolute_path(const std::string& path) {
    char* real = ::realpath(path.c_str(), nullptr);
    if (!real) return path;
    std::string out(real);
    std::free(real);
    return out;
}

Status create_sparse_file(const std::string& path, uint64_t size) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return fail("cannot create " + path + ": " + std::strerror(errno));
    int rc = ::ftruncate(fd, static_cast<off_t>(size));
    int err = errno;
    ::close(fd);
    if (rc != 0) return fail("cannot size " + path + ": " + std::strerror(err));
    return ok();
}

std::map<std::string, std::string> parse_key_values(const std::string& text) {
    std::map<std::string, std::string> kv;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        kv[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
    }
    return kv;
}

std::string format_key_values(const std::map<std::string, std::string>& kv) {
    std::string out;
    for (const auto& [k, v] : kv) out += k + " = " + v + "\n";
    return out;
}

std::string make_temp_dir(const std::string& prefix) {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + ".XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    return ::mkdtemp(buf.data()) ? std::string(buf.data()) : tmpl;
}

void remove_tree(const std::string& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
}

}  // namespace lab
