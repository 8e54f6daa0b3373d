"""Scenario 4, the master dies in the middle of an update.

The master runs `famfs cp` of many files into famfs and is killed (QMP quit:
QEMU exits at once, like a power loss) or frozen then killed, at different
points. The shared memory survives. After the master boots again: fsck is
clean on every host, and no file is visible with partial contents. Re-running
the same cp (restartable by contract) then completes the copy.
"""

import time

import pytest

NFILES = 24
FILE_KIB = 256
# Seconds after starting `famfs cp` at which the master dies; "stop" freezes
# it first (a deterministic point mid-append), then kills it.
KILL_POINTS = [(0.3, "quit"), (1.5, "quit"), (0.8, "stop")]


def make_sources(lab):
    """Random source files on the master's local disk; returns name -> md5."""
    lab.ok(lab.master, (
        f"rm -rf /tmp/src && mkdir -p /tmp/src && for i in $(seq 1 {NFILES}); do "
        f"head -c {FILE_KIB * 1024} /dev/urandom > /tmp/src/file$i; done"))
    out = lab.ok(lab.master, "cd /tmp/src && md5sum file*").out
    return {name: digest for digest, name in (line.split() for line in out.splitlines())}


def remount_master(lab):
    lab.ok(lab.master, "mkdir -p /mnt/famfs && famfs mount /dev/famfs0 /mnt/famfs")


def assert_fsck_clean(lab, host):
    r = lab.sh(host, "famfs fsck /mnt/famfs")
    assert r.rc == 0, f"fsck not clean on {host}:\n{r.describe()}"
    assert "No allocation errors found" in r.out, r.describe()


def assert_no_partial_files(lab, host, dest, digests):
    listing = lab.sh(host, f"ls {dest} 2>/dev/null")
    names = listing.out.split()
    assert set(names) <= set(digests), f"unexpected names on {host}: {names}"
    if not names:
        return 0
    out = lab.ok(host, f"cd {dest} && md5sum {' '.join(names)}", timeout=300).out
    for line in out.splitlines():
        digest, name = line.split()
        assert digest == digests[name], f"{host}: {dest}/{name} is visible with partial data"
    return len(names)


@pytest.mark.parametrize("delay,how", KILL_POINTS, ids=[f"{h}-at-{d}s" for d, h in KILL_POINTS])
def test_master_dies_mid_cp(famfs_lab, delay, how):
    lab = famfs_lab
    dest = f"/mnt/famfs/die_{how}_{str(delay).replace('.', '_')}"
    digests = make_sources(lab)
    lab.ok(lab.master, f"famfs mkdir {dest}")
    # Backgrounded with its output in a file: the agent returns immediately.
    lab.ok(lab.master, f"famfs cp /tmp/src/* {dest}/ > /tmp/cp.log 2>&1 &")
    time.sleep(delay)
    if how == "stop":
        lab.stop(lab.master)
    lab.crash(lab.master, how="quit")

    # A surviving client must stay consistent while the master is gone.
    for host in lab.clients:
        assert_no_partial_files(lab, host, dest, digests)

    lab.restart(lab.master)
    remount_master(lab)
    for host in lab.hosts:
        assert_fsck_clean(lab, host)
        assert_no_partial_files(lab, host, dest, digests)

    # The source files died with the master's RAM disk: recreate the same
    # names, and finish the copy (a visible complete file is left alone).
    # Files that already exist with the right size make cp fail on mismatch,
    # so only copy the missing ones.
    seen = set(lab.ok(lab.master, f"ls {dest}").out.split())
    missing = [n for n in digests if n not in seen]
    if missing:
        digests_new = make_sources(lab)
        for n in missing:
            digests[n] = digests_new[n]
        srcs = " ".join(f"/tmp/src/{n}" for n in missing)
        lab.ok(lab.master, f"famfs cp {srcs} {dest}/", timeout=600)
    for host in lab.hosts:
        assert lab.wait_for(host, f"[ $(ls {dest} | wc -l) -eq {NFILES} ]", timeout=20).rc == 0
        assert assert_no_partial_files(lab, host, dest, digests) == NFILES
        assert_fsck_clean(lab, host)
