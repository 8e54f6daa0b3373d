// How CLI commands talk to the user: every error names the command, the
// object and the reason ("famfs creat: /mnt/famfs/x: file exists with a
// different size (4096 != 8192)"), and exit statuses stay within 0..127.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "famfs/result.h"

namespace famfs::cli {

inline constexpr int kExitUsage = 1;
inline constexpr int kExitUnknownCommand = 3;
inline constexpr int kExitMax = 127;

// Prints "famfs CMD: OBJECT: REASON" to stderr.
void report_error(std::string_view cmd, std::string_view object, std::string_view reason);
// The same for a library error; a message that starts with the relative
// path (the name the library knows) does not name the object twice.
void report_error(std::string_view cmd, std::string_view object, const Error& e,
                  std::string_view relpath = {});
// "famfs CMD: REASON" for errors that concern no object.
void report_problem(std::string_view cmd, std::string_view reason);

// An error count or errno value as an exit status (absolute, capped at 127).
int exit_status(int64_t n);

// The reason to show for a library error.
std::string explain(const Error& e, std::string_view relpath = {});
// For Volume::require_master(): EPERM means this host is a client.
std::string master_only_reason(const Error& e);

}  // namespace famfs::cli
