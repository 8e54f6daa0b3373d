#include "process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>

#include "clock.h"

namespace lab {

Result<pid_t> spawn_detached(const std::vector<std::string>& argv, const std::string& dir,
                             const std::string& log_path) {
    std::vector<char*> cargv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) return fail("cannot open " + log_path + ": " + std::strerror(errno));
    // The pipe closes on exec: once the parent reads EOF, the child has its
    // final cwd (which process_alive checks) or has reported why exec failed.
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        ::close(log_fd);
        return fail(std::string("pipe: ") + std::strerror(errno));
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(log_fd);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        return fail(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::setsid();
        // The harness ignores SIGPIPE and catches SIGINT; QEMU gets defaults.
        std::signal(SIGPIPE, SIG_DFL);
        std::signal(SIGINT, SIG_DFL);
        std::signal(SIGTERM, SIG_DFL);
        int null_fd = ::open("/dev/null", O_RDONLY);
        if (::chdir(dir.c_str()) == 0 && null_fd >= 0) {
            ::dup2(null_fd, 0);
            ::dup2(log_fd, 1);
            ::dup2(log_fd, 2);
            ::execvp(cargv[0], cargv.data());
        }
        int err = errno;
        (void)!::write(pipe_fds[1], &err, sizeof err);
        _exit(127);
    }
    ::close(log_fd);
    ::close(pipe_fds[1]);
    int child_errno = 0;
    ssize_t n;
    do {
        n = ::read(pipe_fds[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    ::close(pipe_fds[0]);
    if (n > 0) {
        ::waitpid(pid, nullptr, 0);
        return fail("cannot start " + argv[0] + ": " + std::strerror(child_errno));
    }
    return pid;
}

bool process_alive(pid_t pid, const std::string& dir) {
    if (pid <= 0) return false;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return false;
    auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos || close_paren + 2 >= line.size()) return false;
    if (line[close_paren + 2] == 'Z') return false;
    char cwd[4096];
    ssize_t n = ::readlink(("/proc/" + std::to_string(pid) + "/cwd").c_str(), cwd, sizeof cwd - 1);
    if (n < 0) return false;
    return std::string(cwd, static_cast<size_t>(n)) == dir;
}

bool wait_process_exit(pid_t pid, const std::string& dir, double timeout_s) {
    auto deadline = deadline_in(timeout_s);
    while (process_alive(pid, dir)) {
        if (ms_left(deadline) == 0) return false;
        sleep_ms(20);
    }
    return true;
}

void stop_process(pid_t pid, const std::string& dir, double grace_s) {
    if (!process_alive(pid, dir)) return;
    ::kill(pid, SIGTERM);
    if (wait_process_exit(pid, dir, grace_s)) return;
    ::kill(pid, SIGKILL);
    wait_process_exit(pid, dir, 5);
}

}  // namespace lab
