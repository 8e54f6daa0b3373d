#include "copy_progress.h"

#include <unistd.h>

#include <chrono>

#include "famfs/sizes.h"

namespace famfs::cli {
namespace {

// Often enough to look alive, rarely enough to cost nothing.
constexpr auto kRedraw = std::chrono::milliseconds(250);

}  // namespace

CopyProgress::CopyProgress(uint64_t total_bytes, uint64_t total_files, FILE* out)
    : total_bytes_(total_bytes), total_files_(total_files) {
    const bool long_copy = total_bytes >= kMinBytes || total_files >= kMinFiles;
    if (!long_copy || out == nullptr || ::isatty(::fileno(out)) != 1) return;
    out_ = out;
    thread_ = std::thread([this] { run(); });
}

CopyProgress::~CopyProgress() {
    if (!out_) return;
    {
        std::lock_guard lock(mu_);
        done_ = true;
    }
    cv_.notify_all();
    thread_.join();
    draw();
    std::fputs("\r\033[K", out_);  // the summary line takes its place
    std::fflush(out_);
}

std::string CopyProgress::line(uint64_t bytes, uint64_t total_bytes, uint64_t files,
                               uint64_t total_files) {
    const uint64_t percent = total_bytes == 0
                                 ? 100
                                 : static_cast<uint64_t>(100.0 * static_cast<double>(bytes) /
                                                         static_cast<double>(total_bytes));
    return human_size(bytes) + " of " + human_size(total_bytes) + " (" + std::to_string(percent) +
           "%), " + std::to_string(files) + " of " + std::to_string(total_files) + " files";
}

void CopyProgress::run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, kRedraw, [this] { return done_; })) draw();
}

void CopyProgress::draw() {
    const std::string text = line(bytes_, total_bytes_, files_, total_files_);
    std::fprintf(out_, "\rfamfs cp: %s\033[K", text.c_str());
    std::fflush(out_);
}

}  // namespace famfs::cli
