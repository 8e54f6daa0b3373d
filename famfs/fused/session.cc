#include "session.h"

#include <syslog.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "colocation.h"
#include "diagnostics_http.h"
#include "fuse_transport.h"
#include "log_level.h"
#include "memory_guard.h"
#include "ops.h"
#include "readahead.h"
#include "state_dir.h"

namespace famfs::fused {

namespace {

// fuse_opt treats ',' as a separator; a device path keeps its commas escaped.
std::string escape_option(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == ',' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

std::string mount_options(const ServerOptions& opt) {
    std::string o =
        "fsname=" + escape_option(opt.fsname.empty() ? opt.device : opt.fsname) + ",subtype=famfs";
    if (opt.allow_other) o += ",allow_other";
    if (opt.default_permissions) o += ",default_permissions";
    return o;
}

// The kernel sets a FUSE mount's readahead from the INIT exchange, so it is
// widened after that, from the request transport (fuse_transport.h).
std::string g_mountpoint;
void widen_mount_readahead() {
    widen_readahead(g_mountpoint, 1024);
}

int serve(fuse_session* se, const ServerOptions& opt) {
    if (opt.debug || opt.single_thread) return fuse_session_loop(se);
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 16);
    const int rc = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    return rc;
}

}  // namespace

int run_server(const ServerOptions& given) {
    // The state directory and its socket exist before the mount, so that
    // whoever finds the mount finds them (a connection waits in the backlog
    // until the daemon serves it); both go when the server ends.
    auto state_dir = StateDir::prepare(given.state_dir);
    if (!state_dir) {
        std::fprintf(stderr, "famfs_fused: %s\n", state_dir.error().message.c_str());
        return 1;
    }
    ServerOptions opt = given;
    opt.state_dir = state_dir->path();
    auto server = Server::open(opt);
    if (!server) {
        std::fprintf(stderr, "famfs_fused: %s: %s\n", opt.device.c_str(),
                     server.error().message.c_str());
        return 1;
    }
    Server& s = *server.value();
    auto diagnostics = DiagnosticsSocket::listen(state_dir->socket_path());
    if (!diagnostics) {
        std::fprintf(stderr, "famfs_fused: %s\n", diagnostics.error().message.c_str());
        return 1;
    }
    if (opt.verbose) std::fprintf(stderr, "%s", s.status_text().c_str());

    fuse_args args = FUSE_ARGS_INIT(0, nullptr);
    const std::string options = mount_options(opt);
    fuse_opt_add_arg(&args, "famfs_fused");
    fuse_opt_add_arg(&args, "-o");
    fuse_opt_add_arg(&args, options.c_str());
    if (opt.debug) fuse_opt_add_arg(&args, "-d");

    const fuse_lowlevel_ops ops = make_ops();
    fuse_session* se = fuse_session_new(&args, &ops, sizeof(ops), &s);
    fuse_opt_free_args(&args);
    if (!se) return 1;
    // A stale device (server.h): the follower drops the kernel's pages and
    // mappings of every file, so a mapped page faults into a read that fails.
    // The follower is stopped before the session goes away.
    Server::KernelCache cache;
    cache.inode = [se](uint64_t ino) {
        return -fuse_lowlevel_notify_inval_inode(se, static_cast<fuse_ino_t>(ino), 0, 0);
    };
    cache.entry = [se](uint64_t parent, const std::string& name) {
        return -fuse_lowlevel_notify_inval_entry(se, static_cast<fuse_ino_t>(parent), name.data(),
                                                 name.size());
    };
    s.set_kernel_cache(std::move(cache));
    int rc = 1;
    if (fuse_set_signal_handlers(se) == 0) {
        // Resolved before mounting: afterwards a lookup of the mount point
        // would wait for this very server.
        char real[PATH_MAX];
        g_mountpoint = realpath(opt.mountpoint.c_str(), real) ? real : opt.mountpoint;
        if (fuse_session_mount(se, opt.mountpoint.c_str()) == 0) {
            // Without the transport files are simply opened through the page cache.
            if (install_fuse_transport(se, opt.direct_io, widen_mount_readahead) != 0) {
                std::fprintf(stderr, "famfs_fused: cannot hook /dev/fuse; using cached I/O\n");
            }
            // Threads do not survive the fork that detaches the daemon, so
            // the follower starts after it.
            fuse_daemonize(opt.foreground ? 1 : 0);
            install_memory_guard(s);
            s.start_membership();
            if (opt.follow) s.start_following();
            s.start_poison_watch();
            if (auto st = diagnostics.value()->serve(s); !st) {
                log_message(LOG_ERR, st.error().message);
            }
            colocation::start(opt.serve_on_requester_cpu);
            // libfuse returns the number of a signal that stopped it: a
            // stop that was asked for, not a failure.
            rc = serve(se, opt) >= 0 ? 0 : 1;
            colocation::stop();
            diagnostics.value().reset();  // before the mount goes: the socket first
            s.stop_poison_watch();
            s.stop_following();
            // Its handles are all released now: the slot blocks nothing.
            s.leave_host_table();
            fuse_session_unmount(se);
            s.release_mount_lock();
        } else {
            std::fprintf(stderr, "famfs_fused: cannot mount %s on %s\n", opt.device.c_str(),
                         opt.mountpoint.c_str());
        }
        fuse_remove_signal_handlers(se);
    }
    fuse_session_destroy(se);
    return rc;
}

}  // namespace famfs::fused
