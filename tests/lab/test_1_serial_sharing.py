"""Scenario 1, serial sharing: the master creates files filled with the famfs
test pattern; every client verifies them through its own mount. Then a client
writes into a file whose logged mode allows it, and the master reads back
exactly what the client wrote."""

import pytest

from conftest import require

pytestmark = pytest.mark.sharing

D = "/mnt/famfs/serial"
SEEDS = {f"{D}/f{i}": 1000 + i for i in range(4)}
SIZE = "1m"


@pytest.fixture(scope="module")
def files(famfs_lab):
    lab = famfs_lab
    lab.ok(lab.master, f"famfs mkdir {D}")
    for path, seed in SEEDS.items():
        lab.ok(lab.master, f"famfs creat -s {SIZE} -r -S {seed} {path}")
    return lab


def test_master_verifies_its_files(files):
    for path, seed in SEEDS.items():
        r = files.ok(files.master, f"famfs verify -S {seed} -f {path}")
        assert "Success" in r.out


def test_clients_see_and_verify_the_files(files):
    lab = files
    for host in lab.clients:
        for path, seed in SEEDS.items():
            appeared = lab.wait_for(host, f"test -f {path}", timeout=10)
            assert appeared.rc == 0, f"{path} never appeared on {host}\n" + appeared.describe()
            r = lab.ok(host, f"famfs verify -S {seed} -f {path}")
            assert "Success" in r.out
            size = lab.ok(host, f"stat -c %s {path}").out.strip()
            assert size == str(1 << 20)


def test_client_verify_with_wrong_seed_fails(files):
    path = next(iter(SEEDS))
    r = files.sh(files.clients[0], f"famfs verify -S 4242 -f {path}")
    assert r.rc != 0 and "fail" in (r.out + r.err).lower(), r.describe()


def test_client_writes_master_reads(files):
    lab = files
    target = f"{D}/writable"
    lab.ok(lab.master, f"famfs creat -m 0666 -s {SIZE} {target}")
    for i, host in enumerate(lab.clients):
        assert lab.wait_for(host, f"test -f {target}").rc == 0
        # 64 KiB of fresh random bytes at a per-client offset; the expected
        # digest of that range is computed on the writer from its own copy.
        seek = 16 * i
        digest = lab.ok(host, (
            "head -c 65536 /dev/urandom > /tmp/blob && "
            f"dd if=/tmp/blob of={target} bs=4096 seek={seek} conv=notrunc,fsync 2>/dev/null && "
            "md5sum < /tmp/blob")).out.split()[0]
        seen = lab.ok(lab.master, f"dd if={target} of=/tmp/readback bs=4096 skip={seek} count=16 "
                                  "2>/dev/null && md5sum < /tmp/readback")
        assert seen.out.split()[0] == digest, f"master does not see what {host} wrote"


def data_path(lab, host):
    out = lab.ok(host, "famfs status /mnt/famfs").out
    return next(line for line in out.splitlines() if line.startswith("data_path:"))


def test_data_path_follows_the_guest_kernel(files, features):
    """A guest kernel that lets a FUSE server combine direct I/O with shared
    mmap (>= 6.6) gets the direct-I/O mode; older ones the page-cache mode."""
    direct = features["FUSE direct I/O with shared mmap"]
    for host in files.hosts:
        line = data_path(files, host)
        assert ("direct I/O" in line) == direct, f"{host}: {line} (direct I/O expected: {direct})"
        assert direct or "page cache" in line, f"{host}: {line}"


def test_long_open_descriptor_reads_the_other_hosts_write(files, features):
    """In direct-I/O mode a read() is served from shared memory at that
    moment: a client's descriptor opened before the master's write sees it."""
    # Without it a read() is fresh as of the file's latest open on that host
    # (page-cache mode).
    require(files, "FUSE direct I/O with shared mmap")
    lab = files
    target = f"{D}/fresh"
    lab.ok(lab.master, f"famfs creat -m 0666 -s {SIZE} {target}")

    def master_writes():
        return lab.ok(lab.master, (
            "head -c 65536 /dev/urandom > /tmp/blob && "
            f"dd if=/tmp/blob of={target} bs=4096 conv=notrunc,fsync 2>/dev/null && "
            "md5sum < /tmp/blob")).out.split()[0]

    before = master_writes()
    for host in lab.clients:
        assert lab.wait_for(host, f"test -f {target}").rc == 0
        # In the guest's background: the harness runs one command per host
        # at a time, and this one waits for the master's write.
        lab.ok(host, "rm -f /tmp/go /tmp/reread.*; "
                     f"(labmem reread {target} --offset 0 --length 65536 --wait /tmp/go "
                     "--out /tmp/reread; echo $? > /tmp/reread.rc) >/dev/null 2>&1 &")
        assert lab.wait_for(host, "test -e /tmp/reread.1").rc == 0
        after = master_writes()
        lab.ok(host, "touch /tmp/go")
        assert lab.wait_for(host, "test -e /tmp/reread.rc", timeout=60).rc == 0
        assert lab.ok(host, "cat /tmp/reread.rc").out.strip() == "0"
        seen = lab.ok(host, "md5sum /tmp/reread.1 /tmp/reread.2").out.split()
        assert seen[0] == before, f"{host}: the first read is not what the master wrote"
        assert seen[2] == after, (f"{host}: a read() on a descriptor opened before the master's "
                                  "write returned stale bytes")
        before = after
