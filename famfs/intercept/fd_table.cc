#include "fd_table.h"

#include <algorithm>

namespace famfs::intercept {

FdTable& FdTable::instance() {
    static FdTable* table = new FdTable;  // never destroyed: calls come during exit()
    return *table;
}

std::shared_ptr<ServedFile> FdTable::lookup(int fd) {
    std::shared_ptr<ServedFile> f;
    {
        std::lock_guard lock(mu_);
        if (fd < 0 || static_cast<size_t>(fd) >= files_.size() || !files_[fd]) return nullptr;
        f = files_[fd];
    }
    FileId now;
    if (identify(fd, &now) && now == f->id()) return f;
    drop(fd);
    return nullptr;
}

void FdTable::put(int fd, std::shared_ptr<ServedFile> file) {
    if (fd < 0) return;
    std::lock_guard lock(mu_);
    if (static_cast<size_t>(fd) >= files_.size()) files_.resize(static_cast<size_t>(fd) + 1);
    files_[fd] = std::move(file);
}

void FdTable::drop(int fd) {
    std::lock_guard lock(mu_);
    if (fd >= 0 && static_cast<size_t>(fd) < files_.size()) files_[fd].reset();
}

void FdTable::drop_range(unsigned first, unsigned last) {
    std::lock_guard lock(mu_);
    const size_t end = std::min<size_t>(files_.size(), size_t{last} + 1);
    for (size_t fd = first; fd < end; fd++) files_[fd].reset();
}

void FdTable::copy(int oldfd, int newfd) {
    if (newfd < 0) return;
    std::lock_guard lock(mu_);
    std::shared_ptr<ServedFile> f;
    if (oldfd >= 0 && static_cast<size_t>(oldfd) < files_.size()) f = files_[oldfd];
    if (static_cast<size_t>(newfd) >= files_.size()) {
        if (!f) return;
        files_.resize(static_cast<size_t>(newfd) + 1);
    }
    files_[newfd] = std::move(f);
}

}  // namespace famfs::intercept
