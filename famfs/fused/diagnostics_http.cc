#include "diagnostics_http.h"

#include <microhttpd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "inodes.h"
#include "log_level.h"
#include "server.h"

namespace famfs::fused {

namespace {

struct Reply {
    unsigned status = MHD_HTTP_OK;
    const char* type = "text/plain";
    std::string body;
};

// A POST or PUT body gathered across the access handler's calls.
struct Request {
    std::string body;
};

constexpr size_t kMaxBody = 64;  // "level=N" and some slack

bool peer_allowed(MHD_Connection* conn) {
    const MHD_ConnectionInfo* info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!info) return false;
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (getsockopt(info->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
    return cred.uid == 0 || cred.uid == geteuid();
}

Reply icache_stats(const Server& s) {
    const Server::LookupStats& st = s.lookup_stats();
    Reply r;
    r.type = "text/yaml";
    r.body = "icache_stats:\n  search_count:   " + std::to_string(st.searches.load()) +
             "\n  nodes_scanned:  " + std::to_string(st.nodes_scanned.load()) +
             "\n  search_fail_ct: " + std::to_string(st.failures.load()) + "\n";
    return r;
}

std::string inode_line(const Server& s, const Node& n) {
    const struct stat st = attributes(s, Inode{&n, std::nullopt});
    char buf[160];
    std::snprintf(buf, sizeof(buf), "icache: ino=%llu %s mode=%04o uid=%u gid=%u size=%llu ",
                  static_cast<unsigned long long>(n.ino), n.is_dir ? "dir" : "file",
                  static_cast<unsigned>(st.st_mode & 07777), static_cast<unsigned>(st.st_uid),
                  static_cast<unsigned>(st.st_gid), static_cast<unsigned long long>(st.st_size));
    return buf + (n.relpath().empty() ? std::string("/") : n.relpath());
}

// To syslog at the current level, as the reference daemon dumps its cache.
Reply icache_dump(const Server& s) {
    const int level = log_level();
    uint64_t count = 0;
    {
        auto rd = s.read_tree();
        s.tree().for_each([&](const Node& n) {
            log_message(level, inode_line(s, n));
            count++;
        });
    }
    Reply r;
    r.type = "text/yaml";
    r.body = "icache: dumping " + std::to_string(count) + " inodes to syslog\n";
    return r;
}

Reply inodes(const Server& s) {
    uint64_t total;
    {
        auto rd = s.read_tree();
        total = 1 + s.tree().files() + s.tree().dirs();  // with the root
    }
    Reply r;
    r.type = "text/yaml";
    // famfs never deletes a file, so nothing is ever "deleted".
    r.body = "inodes:\n  total: " + std::to_string(total) +
             "\n  open: " + std::to_string(s.open_file_count()) + "\n  deleted: 0\n";
    return r;
}

// The body "N" or "level=N", as the reference daemon reads it.
Reply set_level(const std::string& body) {
    std::string v = body;
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
    if (v.rfind("level=", 0) == 0) v.erase(0, 6);
    char* end = nullptr;
    const long level = std::strtol(v.c_str(), &end, 10);
    const int before = log_level();
    if (v.empty() || *end != '\0' || !set_log_level(static_cast<int>(level))) {
        return Reply{MHD_HTTP_BAD_REQUEST, "text/plain",
                     "log_level: \"" + v + "\" is not a level from 0 (emerg) to 7 (debug)\n"};
    }
    log_message(static_cast<int>(level), "log_level changed " + std::to_string(before) + "->" +
                                             std::to_string(level) + " (" +
                                             log_level_name(static_cast<int>(level)) + ")");
    return Reply{
        MHD_HTTP_OK, "text/plain",
        "log level set to " + std::to_string(level) + " (from " + std::to_string(before) + ")\n"};
}

Reply dispatch(Server& s, const std::string& url, const std::string& method,
               const std::string& body) {
    const bool get = method == MHD_HTTP_METHOD_GET;
    if (url == "/log_level") {
        if (get) return Reply{MHD_HTTP_OK, "text/plain", std::to_string(log_level()) + "\n"};
        if (method == MHD_HTTP_METHOD_POST || method == MHD_HTTP_METHOD_PUT) return set_level(body);
        return Reply{MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "Method Not Allowed\n"};
    }
    if (!get) return Reply{MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "Method Not Allowed\n"};
    if (url == "/icache_stats") return icache_stats(s);
    if (url == "/icache_dump") return icache_dump(s);
    if (url == "/pid")
        return Reply{MHD_HTTP_OK, "text/yaml", "pid: " + std::to_string(getpid()) + "\n"};
    if (url == "/inodes") return inodes(s);
    if (url == "/status") return Reply{MHD_HTTP_OK, "text/plain", s.status_text(true)};
    return Reply{MHD_HTTP_NOT_FOUND, "text/plain", "Not Found\n"};
}

MHD_Result send(MHD_Connection* conn, const Reply& r) {
    MHD_Response* resp = MHD_create_response_from_buffer(
        r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.type);
    const MHD_Result ret = MHD_queue_response(conn, r.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

MHD_Result answer(void* cls, MHD_Connection* conn, const char* url, const char* method, const char*,
                  const char* upload, size_t* upload_size, void** con_cls) {
    auto* req = static_cast<Request*>(*con_cls);
    if (!req) {  // the first call: headers only
        if (!peer_allowed(conn)) {
            return send(conn, Reply{MHD_HTTP_FORBIDDEN, "text/plain",
                                    "famfs_fused diagnostics: root only\n"});
        }
        *con_cls = new Request;
        return MHD_YES;
    }
    if (*upload_size) {
        if (req->body.size() + *upload_size > kMaxBody) {
            return send(conn, Reply{MHD_HTTP_CONTENT_TOO_LARGE, "text/plain", "body too large\n"});
        }
        req->body.append(upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    return send(conn, dispatch(*static_cast<Server*>(cls), url, method, req->body));
}

void request_done(void*, MHD_Connection*, void** con_cls, MHD_RequestTerminationCode) {
    delete static_cast<Request*>(*con_cls);
    *con_cls = nullptr;
}

}  // namespace

Result<std::unique_ptr<DiagnosticsSocket>> DiagnosticsSocket::listen(const std::string& path) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof(sa.sun_path)) {
        return make_error(ENAMETOOLONG, "diagnostics socket " + path + ": longer than " +
                                            std::to_string(sizeof(sa.sun_path) - 1) +
                                            " bytes, the limit of a unix socket's path");
    }
    std::memcpy(sa.sun_path, path.c_str(), path.size());
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return make_error(errno, std::string("socket: ") + std::strerror(errno));
    unlink(path.c_str());  // a socket left by a server that was killed
    // Created 0600: no moment at which others could connect.
    const mode_t old_mask = umask(0177);
    const int rc = bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    const int err = errno;
    umask(old_mask);
    if (rc != 0 || ::listen(fd, 64) != 0) {
        const int e = rc != 0 ? err : errno;
        close(fd);
        if (rc == 0) unlink(path.c_str());
        return make_error(e, "diagnostics socket " + path + ": " + std::strerror(e));
    }
    return std::unique_ptr<DiagnosticsSocket>(new DiagnosticsSocket(path, fd));
}

Status DiagnosticsSocket::serve(Server& s) {
    daemon_ =
        MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD, 0, nullptr, nullptr, answer, &s,
                         MHD_OPTION_LISTEN_SOCKET, fd_, MHD_OPTION_NOTIFY_COMPLETED, request_done,
                         nullptr, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!daemon_) {
        return make_error(EIO, "diagnostics socket " + path_ + ": libmicrohttpd did not start");
    }
    return {};
}

DiagnosticsSocket::~DiagnosticsSocket() {
    if (daemon_) {
        MHD_stop_daemon(daemon_);  // closes the listening socket
    } else if (fd_ >= 0) {
        close(fd_);
    }
    unlink(path_.c_str());
}

}  // namespace famfs::fused
