// What the library did, for FAMFS_INTERCEPT_REPORT: per call, how many it
// served from the device's memory and how many it passed on (to the mount,
// or to the kernel for descriptors that are not famfs files), and why each
// famfs file was passed on. Printed when the process exits: to stderr when
// the variable is "1" or "stderr", else appended to the file it names;
// only by processes that met a famfs file.
#pragma once

#include <cstdint>
#include <string>

namespace famfs::intercept {

enum class Call {
    kOpen,
    kRead,
    kPread,
    kReadv,
    kPreadv,
    kWrite,
    kPwrite,
    kWritev,
    kPwritev,
    kLseek,
    kFstat,
    kFsync,
    kFdatasync,
    kMmap,
    kMunmap,
    kMsync,
    kMprotect,
    kDup,
    kClose,
    kCount
};

// Counting is a relaxed atomic add, and only when a report was asked for;
// reasons take a lock (they are rare).
// Passed: calls on famfs files that went to the mount; other: calls on
// descriptors that are not famfs files (only their total is reported).
void count_served(Call c);
void count_passed(Call c);
void count_other();
// Opens are counted when a file is first used: served once its map is in
// hand, passed when the library gave it up.
// A famfs file the library does not serve: "PATH: why" (counted per text).
void note_fallback(const std::string& what);

// fork(): the reasons are held across it, so the child's are whole.
void lock_report_for_fork();
void unlock_report_after_fork();

// Reads FAMFS_INTERCEPT_REPORT once and arranges the exit report.
void init_report();
// The report's text (tests read it without exiting).
std::string report_text();

}  // namespace famfs::intercept
