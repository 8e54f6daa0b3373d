// The per-mount state directory: the mount root's user.famfs.shadow names
// it, as the reference daemon's shadow directory, and it holds the
// diagnostics socket `sock` (diagnostics_http.h). The server makes a fresh
// one (mode 0700) unless told which, and removes what it made at unmount.
#pragma once

#include <string>

#include "famfs/result.h"

namespace famfs::fused {

class StateDir {
  public:
    // `given` empty: a new /tmp/famfs_shadow_XXXXXX. Otherwise that
    // directory, made (0700) if missing; its parent must exist.
    static Result<StateDir> prepare(const std::string& given);
    StateDir(StateDir&& o) noexcept;
    StateDir& operator=(StateDir&&) = delete;
    ~StateDir();

    const std::string& path() const { return path_; }
    std::string socket_path() const { return path_ + "/sock"; }

  private:
    StateDir(std::string path, bool made) : path_(std::move(path)), made_(made) {}
    std::string path_;
    bool made_ = false;  // removed (when empty) at the end
};

}  // namespace famfs::fused
