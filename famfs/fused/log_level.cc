#include "log_level.h"

#include <syslog.h>

#include <atomic>

namespace famfs::fused {

namespace {

std::atomic<int> g_level{LOG_NOTICE};  // the reference daemon's default too

}  // namespace

int log_level() {
    return g_level.load(std::memory_order_relaxed);
}

bool set_log_level(int level) {
    if (level < kLogLevelMin || level > kLogLevelMax) return false;
    g_level.store(level, std::memory_order_relaxed);
    return true;
}

const char* log_level_name(int level) {
    static const char* const kNames[] = {"emerg",   "alert",  "crit", "err",
                                         "warning", "notice", "info", "debug"};
    return level >= kLogLevelMin && level <= kLogLevelMax ? kNames[level] : "invalid";
}

void log_message(int level, const std::string& text) {
    if (level > log_level()) return;
    openlog("famfs_fused", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    syslog(level, "%s", text.c_str());
}

}  // namespace famfs::fused
