// --statusfile: the result as one number, for scripts (the reference's
// format). Opened (and emptied) before the run, so a bad path fails early.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "famfs/result.h"

namespace famfs::pcq {

class StatusFile {
  public:
    static Result<StatusFile> open(const std::string& path);  // "" -> a no-op file
    StatusFile(StatusFile&& other) noexcept;
    StatusFile& operator=(StatusFile&&) = delete;
    ~StatusFile();
    Status write(int64_t value);

  private:
    StatusFile(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
    std::FILE* f_ = nullptr;
    std::string path_;
};

}  // namespace famfs::pcq
