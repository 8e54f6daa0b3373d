#include "famfs/system_uuid.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <system_error>

namespace famfs {

const char* to_string(Role role) {
    return role == Role::kMaster ? "master" : "client";
}

std::string system_uuid_path() {
    const char* env = std::getenv("FAMFS_SYSTEM_UUID_FILE");
    return env && *env ? env : "/opt/famfs/system_uuid";
}

namespace {

// How much of the file is read: the UUID with generous room for padding,
// and enough of anything else to say what it is.
constexpr size_t kMaxUuidFileBytes = 4096;

bool is_padding(char c) {
    return c == '\0' || std::isspace(static_cast<unsigned char>(c));
}

// The start of `token` for an error message (whoever prints the message
// escapes its control bytes, see famfs/escape.h).
std::string quoted_start(std::string_view token) {
    constexpr size_t kShown = 48;
    if (token.size() <= kShown) return std::string(token);
    return std::string(token.substr(0, kShown)) + "... (" + std::to_string(token.size()) +
           " bytes)";
}

Result<omf::Uuid> read_uuid(const std::string& path) {
    errno = 0;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int err = errno ? errno : EIO;
        return make_error(err, path + ": cannot read the system UUID: " + std::strerror(err));
    }
    std::string text(kMaxUuidFileBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) return make_error(EIO, path + ": cannot read the system UUID");
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxUuidFileBytes)
        return make_error(EINVAL, path + ": does not hold a system UUID: it is larger than " +
                                      std::to_string(kMaxUuidFileBytes) + " bytes");
    auto u = parse_system_uuid(text);
    if (!u)
        return make_error(u.error().code,
                          path + ": does not hold a system UUID: " + u.error().message);
    return u;
}

// Creates the file atomically (link of a temp file), so two processes that
// start at once agree on one UUID.
Status create_uuid_file(const std::string& path) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    std::string tmp = path + ".tmp." + std::to_string(getpid());
    {
        std::ofstream out(tmp);
        out << omf::uuid_to_string(omf::random_uuid()) << "\n";
        if (!out) return make_error(EIO, tmp + ": cannot write the system UUID");
    }
    int rc = link(tmp.c_str(), path.c_str());
    int err = errno;
    unlink(tmp.c_str());
    if (rc < 0 && err != EEXIST)
        return make_error(err,
                          path + ": cannot create the system UUID file: " + std::strerror(err));
    return {};
}

}  // namespace

Result<omf::Uuid> parse_system_uuid(std::string_view text) {
    size_t begin = 0, end = text.size();
    while (begin < end && is_padding(text[begin])) ++begin;
    while (end > begin && is_padding(text[end - 1])) --end;
    const std::string_view token = text.substr(begin, end - begin);
    if (token.empty())
        return make_error(EINVAL, text.empty() ? "the file is empty"
                                               : "the file holds only whitespace or NUL bytes");
    auto u = omf::uuid_from_string(std::string(token));
    if (!u)
        return make_error(EINVAL, "'" + quoted_start(token) +
                                      "' is not a UUID (expected 36 characters, "
                                      "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
    return u;
}

Result<omf::Uuid> local_system_uuid() {
    std::string path = system_uuid_path();
    if (access(path.c_str(), F_OK) != 0) FAMFS_TRY(create_uuid_file(path));
    return read_uuid(path);
}

}  // namespace famfs
