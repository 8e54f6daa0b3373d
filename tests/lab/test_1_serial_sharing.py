"""Scenario 1, serial sharing: the master creates files filled with the famfs
test pattern; every client verifies them through its own mount. Then a client
writes into a file whose logged mode allows it, and the master reads back
exactly what the client wrote."""

import pytest

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
