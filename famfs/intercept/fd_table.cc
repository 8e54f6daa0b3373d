#include "fd_table.h"

#include <algorithm>

namespace famfs::intercept {

FdTable& FdTable::instance() {
    static FdTable* table = new FdTable;  // never destroyed: calls come during exit()
    return *table;
}

std::shared_ptr<ServedFile> FdTable::lookup(int fd) {
    if (fd < 0) return nullptr;
    if (static_cast<size_t>(fd) < kMarked && !marked_[fd].load(std::memory_order_acquire)) {
        return nullptr;
    }
    std::shared_ptr<ServedFile> f;
    {
        std::lock_guard lock(mu_);
        if (static_cast<size_t>(fd) >= files_.size() || !files_[fd]) return nullptr;
        f = files_[fd];
    }
    FileId now;
    if (identify(fd, &now) && now == f->id()) return f;
    drop(fd);
    return nullptr;
}

void FdTable::set(size_t fd, std::shared_ptr<ServedFile> file) {
    if (fd >= files_.size()) {
        if (!file) return;
        files_.resize(fd + 1);
    }
    if (fd < kMarked) marked_[fd].store(file != nullptr, std::memory_order_release);
    files_[fd] = std::move(file);
}

void FdTable::put(int fd, std::shared_ptr<ServedFile> file) {
    if (fd < 0) return;
    std::lock_guard lock(mu_);
    set(static_cast<size_t>(fd), std::move(file));
}

void FdTable::drop(int fd) {
    if (fd < 0) return;
    std::lock_guard lock(mu_);
    set(static_cast<size_t>(fd), nullptr);
}

void FdTable::drop_range(unsigned first, unsigned last) {
    std::lock_guard lock(mu_);
    const size_t end = std::min<size_t>(files_.size(), size_t{last} + 1);
    for (size_t fd = first; fd < end; fd++) set(fd, nullptr);
}

void FdTable::copy(int oldfd, int newfd) {
    if (newfd < 0) return;
    std::lock_guard lock(mu_);
    std::shared_ptr<ServedFile> f;
    if (oldfd >= 0 && static_cast<size_t>(oldfd) < files_.size()) f = files_[oldfd];
    set(static_cast<size_t>(newfd), std::move(f));
}

}  // namespace famfs::intercept
