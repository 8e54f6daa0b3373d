// The server's syslog messages and their level, which the diagnostics
// socket reads and sets (GET/POST log_level): syslog(3) priorities, 0
// (emergency) to 7 (debug); messages above the level are dropped.
#pragma once

#include <string>

namespace famfs::fused {

inline constexpr int kLogLevelMin = 0, kLogLevelMax = 7;

int log_level();
// False (nothing changed) outside kLogLevelMin..kLogLevelMax.
bool set_log_level(int level);
// "notice", "debug", ...
const char* log_level_name(int level);
// To syslog as "famfs_fused", if `level` is at or below the current level.
void log_message(int level, const std::string& text);

}  // namespace famfs::fused
