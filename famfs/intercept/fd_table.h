// Which descriptors of this process are famfs files the library knows,
// indexed by descriptor number. A descriptor closed behind the library's
// back (a raw close system call, a stream closed inside the C library) and
// its number reused is caught before every served call: the entry holds the
// file's identity, checked against what the descriptor refers to now.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "served_file.h"

namespace famfs::intercept {

class FdTable {
  public:
    static FdTable& instance();

    // The entry of fd when fd still refers to its file (else it is dropped).
    std::shared_ptr<ServedFile> lookup(int fd);
    void put(int fd, std::shared_ptr<ServedFile> file);
    void drop(int fd);
    void drop_range(unsigned first, unsigned last);
    // newfd now refers to what oldfd does (dup and friends).
    void copy(int oldfd, int newfd);

    // fork(): the child gets the table in a consistent state.
    void lock() { mu_.lock(); }
    void unlock() { mu_.unlock(); }

  private:
    // Whether descriptor fd (below kMarked) has an entry: read without the
    // lock, so calls on every other descriptor (sockets, pipes, files of
    // other file systems) never contend for it.
    static constexpr size_t kMarked = 4096;
    void set(size_t fd, std::shared_ptr<ServedFile> file);  // with mu_ held

    std::mutex mu_;
    std::vector<std::shared_ptr<ServedFile>> files_;  // guarded by mu_
    std::array<std::atomic<bool>, kMarked> marked_{};
};

}  // namespace famfs::intercept
