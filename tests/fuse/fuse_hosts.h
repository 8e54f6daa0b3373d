// Several famfs hosts on one machine: each Host runs its own famfs_fused with
// its own system UUID; clients run in a mount namespace of their own (so a
// "device already mounted" check cannot see the master's mount), and the
// test reaches their mounts through /proc/<server pid>/root.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "famfs/omf.h"

namespace famfs::fusetest {

std::string fused_bin();
std::string cli_bin();

// A scratch directory for one test, removed with everything below it.
class Scratch {
  public:
    Scratch();
    ~Scratch();
    const std::string& dir() const { return dir_; }

  private:
    std::string dir_;
};

class Host {
  public:
    // The master shares the test process's identity (it formatted the
    // device) and mount namespace; a client gets a fresh UUID and namespace.
    static std::unique_ptr<Host> master(const Scratch& s, const std::string& name);
    static std::unique_ptr<Host> client(const Scratch& s, const std::string& name);
    ~Host();

    // Limits the address space of the servers this host starts from now on
    // (setrlimit RLIMIT_AS in the child, before exec).
    void limit_address_space(uint64_t bytes) { as_limit_ = bytes; }
    // Starts famfs_fused in the foreground and waits until it serves.
    // Returns an empty string or what went wrong (with the server's output).
    std::string mount(const std::string& device, const std::vector<std::string>& flags = {});
    // The same with the words after `famfs_fused -f` given whole (the
    // reference's form: -o daxdev=DEVICE,... MOUNTPOINT).
    std::string mount_words(const std::vector<std::string>& words);
    // Stops the server and removes the mount.
    void unmount();
    // Sends `sig` to the server and reaps it: returns its wait status, or -1
    // when it had not exited 10 s later (it is then killed).
    int kill_server(int sig);

    // A path through this host's mount ("" is the mount point).
    std::string path(const std::string& rel = "") const;
    const std::string& mountpoint() const { return mnt_; }
    const std::string& uuid_file() const { return uuid_file_; }
    pid_t server_pid() const { return pid_; }
    bool server_alive() const;
    std::string server_log() const;
    // Runs a shell command in this host's mount namespace and identity;
    // returns its exit status and fills `out` with stdout+stderr.
    int run(const std::string& command, std::string* out = nullptr) const;

  private:
    Host(const Scratch& s, const std::string& name, bool own_namespace);

    std::string name_;
    std::string mnt_;
    std::string uuid_file_;
    std::string log_file_;
    bool own_ns_;
    pid_t pid_ = -1;
    uint64_t as_limit_ = 0;  // 0: none
};

// Who runs a probe (run_as).
struct Identity {
    const char* name;
    uid_t uid;
    gid_t gid;
    std::vector<gid_t> groups;
};

// Runs `fn` in a child that has joined `ns_of`'s mount namespace (when it
// has its own) and taken on `who`; returns what fn returned, or sets
// `failure` for a child that could not get there.
std::vector<int> run_as(const Host* ns_of, const Identity& who,
                        const std::function<std::vector<int>()>& fn, std::string* failure);

// Grants the host-table slots that mounts requested, as any master command
// does (docs/delete.md): for tests whose master (this process's host) runs
// no server while a client opens files. Returns "" or what went wrong.
std::string grant_as_master(const std::string& device);

// Reads a whole file (or ENOENT etc. as a negative errno in `err`).
std::vector<uint8_t> read_file(const std::string& path, int* err = nullptr);
// Writes bytes at offset 0 of an existing file; returns 0 or errno.
int write_file(const std::string& path, const std::vector<uint8_t>& bytes, uint64_t off = 0);
std::vector<uint8_t> pattern(uint64_t seed, uint64_t len);
// A field of .meta/.status through a host's mount ("" when missing).
std::string status_field(const Host& h, const std::string& key);
// Lists a directory (names only, without . and ..).
std::vector<std::string> list_dir(const std::string& path);
bool wait_until(const std::function<bool()>& cond, int timeout_ms);

}  // namespace famfs::fusetest
