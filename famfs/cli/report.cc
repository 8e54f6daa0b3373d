#include "report.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "famfs/escape.h"

namespace famfs::cli {

void report_problem(std::string_view cmd, std::string_view raw_reason) {
    // Reasons may quote names from the log: no control byte reaches the terminal.
    const std::string reason = escaped(raw_reason);
    std::fprintf(stderr, "famfs %.*s: %.*s\n", static_cast<int>(cmd.size()), cmd.data(),
                 static_cast<int>(reason.size()), reason.data());
}

void report_error(std::string_view cmd, std::string_view object, std::string_view reason) {
    // Library messages often start with the path they are about, which is
    // the object already printed.
    const std::string named = std::string(object) + ": ";
    if (!object.empty() && reason.starts_with(named)) reason.remove_prefix(named.size());
    // Objects and reasons may be (or quote) names from the log: no control
    // byte reaches the terminal.
    const std::string obj = escaped(object), why = escaped(reason);
    std::fprintf(stderr, "famfs %.*s: %s: %s\n", static_cast<int>(cmd.size()), cmd.data(),
                 obj.c_str(), why.c_str());
}

void report_error(std::string_view cmd, std::string_view object, const Error& e,
                  std::string_view relpath) {
    report_error(cmd, object, explain(e, relpath));
}

std::string explain(const Error& e, std::string_view relpath) {
    std::string_view msg = e.message;
    if (!relpath.empty()) {
        // The library names paths as "'rel': why"; the user already sees the name.
        const std::string quoted = "'" + std::string(relpath) + "': ";
        const std::string plain = std::string(relpath) + ": ";
        if (msg.starts_with(quoted))
            msg.remove_prefix(quoted.size());
        else if (msg.starts_with(plain))
            msg.remove_prefix(plain.size());
    }
    if (msg.empty()) return std::strerror(e.code);
    return std::string(msg);
}

std::string master_only_reason(const Error& e) {
    if (e.code == EPERM) return "this host is not the master (client)";
    return explain(e);
}

int exit_status(int64_t n) {
    const int64_t a = n < 0 ? -n : n;
    return a > kExitMax ? kExitMax : static_cast<int>(a);
}

}  // namespace famfs::cli
