#include "queue_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "famfs/mounts.h"
#include "famfs/volume.h"
#include "layout.h"

namespace famfs::pcq {
namespace {

Error system_error(int err, const std::string& path) {
    return make_error(err, path + ": " + std::strerror(err));
}

// Opens the file through the mount as this side uses it, so that the
// mount's permission checks decide, as they do for the reference's pcq.
Status check_access(const std::string& path, Access access) {
    const int fd =
        ::open(path.c_str(), (access == Access::kReadWrite ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return system_error(errno, path);
    struct stat st {};
    const int rc = fstat(fd, &st);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return system_error(err, path);
    if (!S_ISREG(st.st_mode)) return make_error(EINVAL, path + ": not a regular file");
    return {};
}

Status check_contiguous(const dax::FileMapping& m, const std::string& path) {
    if (!m.contiguous().empty()) return {};
    return make_error(EINVAL, path +
                                  ": the file is not one piece of memory (striped, or "
                                  "several extents); a queue needs one");
}

Result<dax::FileMapping> map_file(const std::string& path, Access access) {
    FAMFS_TRY(check_access(path, access));
    auto m = dax::FileMapping::open_path(path, access);
    if (!m) return make_error(m.error().code, path + ": " + m.error().message);
    FAMFS_TRY(check_contiguous(*m, path));
    return m;
}

Status refuse_existing(const std::string& path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0)
        return make_error(EEXIST, path +
                                      ": cannot create the queue: something with that "
                                      "name already exists");
    if (errno != ENOENT) return system_error(errno, path);
    return {};
}

Result<dax::FileMapping> reserve(Volume& vol, Volume::Transaction& txn, CreateSpec spec,
                                 const std::string& path) {
    auto r = txn.reserve(spec);
    if (!r) return make_error(r.error().code, path + ": " + r.error().message);
    if (!r->created) return refuse_existing(path).error();
    auto m = dax::FileMapping::from_entry(vol.shared_device(), r->file);
    if (!m) return m.error();
    FAMFS_TRY(check_contiguous(*m, path));
    return m;
}

}  // namespace

std::string consumer_file_name(const std::string& queue) {
    return queue + ".consumer";
}

Status create_queue(const CreateRequest& req, const CacheOps& cache) {
    const std::string consumer = consumer_file_name(req.queue);
    FAMFS_TRY(Queue::check_geometry(req.nbuckets, req.bucket_size, req.queue));
    FAMFS_TRY(refuse_existing(consumer));
    FAMFS_TRY(refuse_existing(req.queue));
    auto where = resolve_in_mount(req.queue);
    if (!where) return make_error(where.error().code, req.queue + ": " + where.error().message);
    auto vol = Volume::open(where->mount.device, Access::kReadWrite);
    if (!vol) return vol.error();
    FAMFS_TRY((*vol)->require_master());
    auto txn = (*vol)->begin_transaction();
    if (!txn) return txn.error();

    CreateSpec spec;
    spec.mode = 0644;
    spec.uid = req.uid;
    spec.gid = req.gid;
    spec.relpath = where->relpath + ".consumer";
    spec.size = kConsumerFileSize;
    auto cm = reserve(**vol, **txn, spec, consumer);
    if (!cm) return cm.error();
    spec.relpath = where->relpath;
    spec.size = producer_file_size(req.nbuckets, req.bucket_size);
    auto pm = reserve(**vol, **txn, spec, req.queue);
    if (!pm) return pm.error();

    FAMFS_TRY(Queue::format(pm->contiguous(), cm->contiguous(), req.nbuckets, req.bucket_size,
                            cache, req.queue));
    FAMFS_TRY((*txn)->commit(cm->entry()));
    FAMFS_TRY((*txn)->commit(pm->entry()));
    // A lookup through the mount makes its server catch up with the log, so
    // the files are there for the next command at once.
    struct stat st {};
    (void)stat(consumer.c_str(), &st);
    (void)stat(req.queue.c_str(), &st);
    return {};
}

Result<std::unique_ptr<OpenQueue>> OpenQueue::open(const std::string& queue, Side side,
                                                   const CacheOps& cache) {
    const std::string consumer = consumer_file_name(queue);
    struct stat st {};
    if (stat(consumer.c_str(), &st) != 0)
        return make_error(errno, queue + ": pcq files not found (" + consumer + ": " +
                                     std::strerror(errno) + ")");
    auto pm = map_file(queue, side == Side::kProducer ? Access::kReadWrite : Access::kReadOnly);
    if (!pm) return pm.error();
    auto cm = map_file(consumer, side == Side::kConsumer ? Access::kReadWrite : Access::kReadOnly);
    if (!cm) return cm.error();
    auto q = Queue::attach(pm->contiguous(), cm->contiguous(), cache, queue);
    if (!q) return q.error();
    return std::unique_ptr<OpenQueue>(new OpenQueue(std::move(*pm), std::move(*cm), std::move(*q)));
}

OpenQueue::OpenQueue(dax::FileMapping producer, dax::FileMapping consumer, Queue queue)
    : producer_(std::move(producer)), consumer_(std::move(consumer)), queue_(std::move(queue)) {}

}  // namespace famfs::pcq
