// Progress of a long `famfs cp` on a terminal: one line on stderr, redrawn a
// few times a second by a thread of its own, erased when the copy ends.
// Nothing is drawn when stderr is not a terminal (scripts, logs, pipes).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

namespace famfs::cli {

class CopyProgress {
  public:
    // Copies of at least this many bytes, or files, are long enough to show.
    static constexpr uint64_t kMinBytes = 64ull << 20;
    static constexpr uint64_t kMinFiles = 1000;

    // Draws on `out` when it is a terminal and the copy is long.
    CopyProgress(uint64_t total_bytes, uint64_t total_files, FILE* out = stderr);
    ~CopyProgress();  // draws the final state, then erases the line
    CopyProgress(const CopyProgress&) = delete;
    CopyProgress& operator=(const CopyProgress&) = delete;

    bool shown() const { return out_ != nullptr; }
    // Called by the copy threads.
    void add_bytes(uint64_t n) { bytes_ += n; }
    void file_done() { ++files_; }

    // "1.00 GiB of 4.00 GiB (25%), 3 of 12 files"
    static std::string line(uint64_t bytes, uint64_t total_bytes, uint64_t files,
                            uint64_t total_files);

  private:
    void run();
    void draw();

    FILE* out_ = nullptr;
    const uint64_t total_bytes_, total_files_;
    std::atomic<uint64_t> bytes_{0}, files_{0};
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

}  // namespace famfs::cli
