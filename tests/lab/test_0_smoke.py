"""Lab self-test (needs no famfs): the shared memory really is shared.

CXL workaround #1 exists because without a second root port every guest
command succeeds yet writes are silently dropped; only a cross-host data
check catches that. labmem maps /dev/famfs0 MAP_SHARED (devdax devices have
no read/write) and fills or checks a position-dependent pattern.
"""

import pytest

pytestmark = pytest.mark.smoke

DEV = "/dev/famfs0"
MiB = 1 << 20


def test_every_host_has_the_shared_device(lab):
    sizes = set()
    for host in lab.hosts:
        r = lab.ok(host, f"test -e {DEV} && labmem size {DEV}")
        sizes.add(int(r.out.strip()))
    assert len(sizes) == 1, f"hosts disagree on the device size: {sizes}"
    assert sizes.pop() >= 256 * MiB


def test_master_writes_every_host_reads(lab):
    fill = lab.ok(lab.master, f"labmem fill {DEV} --offset {64 * MiB} --length {4 * MiB} --seed 42")
    print(lab.topology, "fill:", fill.out.strip())
    for host in lab.clients:
        r = lab.ok(host, f"labmem check {DEV} --offset {64 * MiB} --length {4 * MiB} --seed 42")
        assert "verified 4194304 bytes" in r.out


def test_clients_write_master_reads(lab):
    for i, host in enumerate(lab.clients):
        off = (128 + 8 * i) * MiB
        lab.ok(host, f"labmem fill {DEV} --offset {off} --length {MiB} --seed {100 + i}")
        r = lab.ok(lab.master, f"labmem check {DEV} --offset {off} --length {MiB} --seed {100 + i}")
        assert "verified" in r.out


def test_check_detects_wrong_data(lab):
    """Negative control: a check with the wrong seed must fail, or the checks
    above prove nothing."""
    r = lab.sh(lab.clients[0], f"labmem check {DEV} --offset {64 * MiB} --length {MiB} --seed 43")
    assert r.rc == 1 and "mismatch" in r.out, r.describe()


def test_guest_exec_returns_status_and_separate_streams(lab):
    r = lab.sh(lab.master, "echo to-out; echo to-err >&2; exit 7")
    assert (r.rc, r.out, r.err) == (7, "to-out\n", "to-err\n")


def test_memset_speed_and_visibility(lab):
    """Raw store speed of the shared memory (printed for the record), and the
    last byte of the range is visible on another host."""
    length = 32 * MiB
    r = lab.ok(lab.master, f"labmem memset {DEV} --offset {256 * MiB} --length {length} --seed 0xa5")
    print(f"\n{lab.topology} memset: {r.out.strip()}")
    assert float(r.out.split(":")[-1].split()[0]) > 0
    peek = lab.ok(lab.clients[0], f"labmem peek {DEV} --offset {256 * MiB + length - 4} --length 4")
    assert peek.out.split(":", 1)[1].split() == ["a5"] * 4
