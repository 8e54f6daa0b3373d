// A queue's two files on famfs. Paths are paths inside a famfs mount, as
// with the reference's pcq: permissions are checked by opening the files
// through the mount, and the memory is mapped through the direct-access
// library (famfs/dax.h), so that stores land in the shared device memory
// itself and other hosts see them, which a FUSE mapping would not promise.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "famfs/dax.h"
#include "famfs/result.h"
#include "queue.h"

namespace famfs::pcq {

std::string consumer_file_name(const std::string& queue);

struct CreateRequest {
    std::string queue;  // path of the producer file inside a famfs mount
    uint64_t nbuckets = 0;
    uint64_t bucket_size = 0;
    uid_t uid = 0;
    gid_t gid = 0;
};

// Creates both files (master only), writes the empty queue into them and
// only then logs them, consumer file first: no host ever sees a half-made
// queue. Fails, logging nothing, when either file exists.
Status create_queue(const CreateRequest& req, const CacheOps& cache);

// Who maps what writable: each side writes only its own file.
enum class Side { kProducer, kConsumer, kObserver };

class OpenQueue {
  public:
    static Result<std::unique_ptr<OpenQueue>> open(const std::string& queue, Side side,
                                                   const CacheOps& cache);
    Queue& queue() { return queue_; }

  private:
    OpenQueue(dax::FileMapping producer, dax::FileMapping consumer, Queue queue);
    dax::FileMapping producer_;
    dax::FileMapping consumer_;
    Queue queue_;
};

}  // namespace famfs::pcq
