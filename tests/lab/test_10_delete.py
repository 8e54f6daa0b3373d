"""Scenario 10, deleting a file that a client holds open (docs/delete.md).

A process on the client opens a famfs file and keeps the descriptor; the
lab freezes the client (QMP `stop`) and the master removes the file
(`famfs rm`) and creates another of the same size with another pattern.
The reader reads only later, through the descriptor it opened before the
delete (never reopening it), so what it gets is whatever memory the file
had when it was opened holds by then.

A. With the reclaim gate (the product as shipped): the new file gets other
   memory while the client may still reach the victim's, the reader gets
   the victim's bytes after `cont`, and once it has closed (the client
   publishes its watermark with its next heartbeat) the master's next
   same-size creat takes the victim's memory.
B. The race, with the gate off (FAMFS_TEST_RECLAIM_GATE=off on the master's
   creat, a test-only switch): the new file takes the victim's memory at
   once, and the reader, resumed, reads the new file's bytes. Watch it
   with one command (boots a cxl2 lab, runs this scenario only and prints
   the md5 the held reader got beside the victim's and the new file's;
   after `make vm-image`):

       python3 -m pytest tests/lab -c tests/lab/pytest.ini --rootdir tests/lab \\
           --topology cxl2 --build-dir build -k race -s

   or all three scenarios: LAB_STACKS=default LAB_PLAN="cxl2:delete" make multihost-test
C. The client dies (QMP quit) holding the file: its slot keeps blocking
   reclaim (`famfs hosts` says so) until `famfs host evict` names it; then
   the space is reused, and the client, booted again, mounts the new
   namespace.

Reuse is observed as overlapping extents (`famfs getmap` on the master).
Allocation is first fit and nothing else in these labs leaves a hole, so
once the victim's memory may be handed out, a same-size file gets exactly
it; while it may not, the file lands past it.
"""

import re

import pytest

from conftest import MOUNTPOINT, mount

pytestmark = pytest.mark.delete

M = MOUNTPOINT
D = f"{M}/delete"
STATUS = f"{M}/.meta/.status"
# One allocation unit: a hole the victim leaves fits a new file exactly.
SIZE = "2m"
# The client publishes its watermark at every heartbeat: a bound far above one.
RECLAIM_WAIT_S = 60
GATE_OFF = "FAMFS_TEST_RECLAIM_GATE=off "

EXTENT_LINE = re.compile(r"^\s+0x([0-9a-fA-F]+)\s+(\d+)\s*$")


def create(lab, path, seed, env=""):
    """A pattern file on the master; returns the md5 the master reads of it
    through its mount, once `famfs verify` proved the pattern."""
    lab.ok(lab.master, f"{env}famfs creat -r -S {seed} -s {SIZE} {path}", timeout=300)
    verified = lab.ok(lab.master, f"famfs verify -S {seed} -f {path}", timeout=300)
    assert "Success" in verified.out, verified.describe()
    return lab.ok(lab.master, f"md5sum {path}").out.split()[0]


def extents(lab, path):
    """(offset, length) of every extent (or strip) of path, as the master's
    `famfs getmap` prints them, and that Run (for messages)."""
    r = lab.ok(lab.master, f"famfs getmap {path}")
    found = [(int(m.group(1), 16), int(m.group(2)))
             for m in map(EXTENT_LINE.match, r.out.splitlines()) if m]
    assert found, f"no extents in the map of {path}:\n{r.describe()}"
    return found, r


def overlap(a, b):
    return [(x, y) for x in a for y in b if x[0] < y[0] + y[1] and y[0] < x[0] + x[1]]


def await_or_fail(lab, host, shell_test, what, evidence, timeout=30):
    """Polls `shell_test` on `host` until it holds (bounded); otherwise
    fails with `what`, the poll, and the output of `evidence` (a command
    whose output says why)."""
    r = lab.wait_for(host, shell_test, timeout=timeout)
    assert r.rc == 0, (f"{host}: {what}:\n" + r.describe() + "\n"
                       + lab.sh(host, evidence).describe())


def status_field(lab, host, key):
    out = lab.ok(host, f"cat {STATUS}").out
    for line in out.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return None


def hosts_table(lab):
    return lab.ok(lab.master, f"famfs hosts {M}")


def slot_line(table, slot):
    return next((line for line in table.out.splitlines()
                 if line.startswith(f"slot {slot}:")), "")


def wait_reclaimable(lab):
    """Until the master's `famfs hosts` shows no deleted space waiting for a
    host (bounded); returns the table as last seen."""
    lab.wait_for(lab.master, f"famfs hosts {M} > /tmp/hosts.out 2>&1 && "
                             "! grep -q 'waits for' /tmp/hosts.out", timeout=RECLAIM_WAIT_S)
    return hosts_table(lab)


class Holder:
    """A background process on `host` that opens `path` as descriptor 3,
    waits for its go file, then md5sums what it reads through that
    descriptor (never reopening the path) and exits, closing it."""

    def __init__(self, lab, host, path, tag):
        self.lab, self.host, self.path, self.t = lab, host, path, f"/tmp/{tag}"

    def start(self):
        t = self.t
        body = (f"exec 3<{self.path} || exit 1; echo $$ > {t}.opened; "
                f"while [ ! -e {t}.go ]; do sleep 0.1; done; "
                f"md5sum <&3 > {t}.part 2> {t}.err; echo $? > {t}.rc; mv {t}.part {t}.md5")
        self.lab.ok(self.host, f"rm -f {t}.*; sh -c '{body}' < /dev/null > {t}.log 2>&1 &")
        await_or_fail(self.lab, self.host, f"test -s {t}.opened",
                      f"the holder never opened {self.path}", f"cat {t}.log")
        fd = self.lab.ok(self.host, f"readlink /proc/$(cat {t}.opened)/fd/3")
        assert fd.out.strip() == self.path, f"{self.host}: descriptor 3 is not {self.path}:\n" + \
            fd.describe()

    def fd_target(self):
        """What descriptor 3 names now (a deleted file may say so)."""
        return self.lab.sh(self.host, f"readlink /proc/$(cat {self.t}.opened)/fd/3").out.strip()

    def release(self):
        """Lets it read; returns the md5 it read."""
        self.lab.ok(self.host, f"touch {self.t}.go")
        await_or_fail(self.lab, self.host, f"test -e {self.t}.md5",
                      f"the held reader of {self.path} never finished",
                      f"cat {self.t}.rc {self.t}.err", timeout=120)
        rc = self.lab.ok(self.host, f"cat {self.t}.rc {self.t}.err")
        assert rc.out.split()[:1] == ["0"], (f"{self.host}: reading {self.path} through the "
                                             "descriptor held across its delete failed:\n"
                                             + rc.describe())
        return self.lab.ok(self.host, f"cat {self.t}.md5").out.split()[0]

    def stop(self):
        """Best effort: lets a leftover holder finish (a failed step)."""
        self.lab.sh(self.host, f"touch {self.t}.go", timeout=10)


def ensure_client(lab, host):
    """A failed earlier scenario may have left the client paused, dead or
    fenced: running, mounted and serving again."""
    if lab.sh(host, "true", timeout=10).rc != 0:
        lab.harness_cmd("cont", "--host", host, check=False)
        if lab.sh(host, "true", timeout=10).rc != 0:
            lab.restart(host)
    if lab.sh(host, f"grep -q ' {M} ' /proc/mounts && ls {M} >/dev/null").rc != 0:
        lab.sh(host, f"famfs umount {M}")
        mount(lab, host)


@pytest.fixture(scope="module")
def delete_lab(famfs_lab):
    lab = famfs_lab
    evict = lab.sh(lab.master, "famfs host evict --help")
    if evict.rc != 0:
        pytest.skip("this famfs has no `famfs host evict` (the host table's server side is not "
                    "built):\n" + evict.describe())
    lab.ok(lab.master, f"famfs mkdir {D}")
    return lab


@pytest.fixture
def dlab(delete_lab):
    for host in delete_lab.clients:
        ensure_client(delete_lab, host)
    return delete_lab


def assert_apart(victim, victim_map, new, new_map, why):
    both = overlap(victim_map[0], new_map[0])
    assert not both, (f"{new} took memory of {victim} {why}: overlapping extents {both}\n"
                      f"victim (before rm):\n{victim_map[1].describe()}\n"
                      f"new:\n{new_map[1].describe()}")


def assert_reuses(victim, victim_map, new, new_map, why, table):
    assert overlap(victim_map[0], new_map[0]), (
        f"{new} did not reuse the memory of {victim} {why}\n"
        f"victim (before rm):\n{victim_map[1].describe()}\n"
        f"new:\n{new_map[1].describe()}\nhost table:\n{table.describe()}")


def assert_reads(lab, host, path, digest):
    assert lab.wait_for(host, f"test -f {path}", timeout=30).rc == 0, f"{path} not on {host}"
    r = lab.ok(host, f"md5sum {path}")
    assert r.out.split()[0] == digest, f"{host} reads other bytes in {path} than the master:\n" + \
        r.describe()


def assert_fsck_clean(lab, host):
    r = lab.sh(host, f"famfs fsck {M}", timeout=300)
    assert r.rc == 0 and "No allocation errors found" in r.out, f"fsck on {host}:\n" + r.describe()


def test_deleted_while_held_open_keeps_its_memory_until_closed(dlab):
    lab = dlab
    client = lab.clients[0]
    victim = f"{D}/a_victim"
    victim_md5 = create(lab, victim, 10001)
    victim_map = extents(lab, victim)
    assert lab.wait_for(client, f"test -f {victim}", timeout=30).rc == 0, f"{victim} not on {client}"
    slot = status_field(lab, client, "host_slot")
    assert slot, f"{client}: no host_slot in {STATUS}:\n" + lab.sh(client, f"cat {STATUS}").describe()
    holder = Holder(lab, client, victim, "held_a")
    holder.start()
    new1, new2, new3 = (f"{D}/a_new{i}" for i in (1, 2, 3))
    try:
        lab.stop(client)
        try:
            state = lab.vm_state(client)
            assert '"paused"' in state, f"{client} after QMP stop: {state}"
            lab.ok(lab.master, f"famfs rm {victim}")
            gone = lab.sh(lab.master, f"test ! -e {victim}")
            assert gone.rc == 0, f"{victim} still there on the master after rm:\n" + gone.describe()
            new1_md5 = create(lab, new1, 10002)
            assert_apart(victim, victim_map, new1, extents(lab, new1),
                         f"while {client} (paused) holds it open")
            table = hosts_table(lab)
            assert re.search(rf"waits for.* slot {slot} ", table.out), (
                f"the victim's space does not wait for {client}'s slot {slot}:\n"
                + table.describe())
        finally:
            lab.cont(client)

        # Its status says why (a stale device or an eviction shows there).
        await_or_fail(lab, client, f"test ! -e {victim} && test -f {new1}",
                      "no catch-up after cont", f"cat {STATUS}")
        await_or_fail(lab, client, f"grep -q '^deleted_files_held_open: [1-9]' {STATUS}",
                      "does not count the deleted file it holds open", f"cat {STATUS}")
        print(f"\n{client}: descriptor 3 after the delete: {holder.fd_target()}")
        # Caught up but still holding: the space still waits.
        create(lab, new2, 10003)
        assert_apart(victim, victim_map, new2, extents(lab, new2),
                     f"while {client} (caught up) still holds it open")

        read = holder.release()
        assert read == victim_md5, (f"{client} read {read} through the descriptor it opened "
                                    f"before the delete, not the victim's {victim_md5}")
    finally:
        holder.stop()

    await_or_fail(lab, client, f"grep -q '^deleted_files_held_open: 0' {STATUS}",
                  "still counts a deleted file held open", f"cat {STATUS}")
    table = wait_reclaimable(lab)
    new3_md5 = create(lab, new3, 10004)
    assert_reuses(victim, victim_map, new3, extents(lab, new3),
                  f"after {client} closed it", table)
    for path, digest in ((new1, new1_md5), (new3, new3_md5)):
        assert_reads(lab, client, path, digest)


def test_race_without_the_reclaim_gate(dlab):
    """The race the gate prevents, on purpose: the held reader gets the new
    file's bytes."""
    lab = dlab
    client = lab.clients[0]
    victim, new = f"{D}/b_victim", f"{D}/b_new"
    victim_md5 = create(lab, victim, 20001)
    victim_map = extents(lab, victim)
    assert lab.wait_for(client, f"test -f {victim}", timeout=30).rc == 0, f"{victim} not on {client}"
    holder = Holder(lab, client, victim, "held_b")
    holder.start()
    try:
        lab.stop(client)
        try:
            state = lab.vm_state(client)
            assert '"paused"' in state, f"{client} after QMP stop: {state}"
            lab.ok(lab.master, f"famfs rm {victim}")
            new_md5 = create(lab, new, 20002, env=GATE_OFF)
            assert_reuses(victim, victim_map, new, extents(lab, new),
                          f"with {GATE_OFF.strip()} while {client} (paused) holds it open: "
                          "the race did not reproduce", hosts_table(lab))
        finally:
            lab.cont(client)
        # Its status says why (a stale device or an eviction shows there).
        await_or_fail(lab, client, f"test ! -e {victim} && test -f {new}",
                      "no catch-up after cont", f"cat {STATUS}")
        read = holder.release()
    finally:
        holder.stop()
    print(f"\n{client}: held reader of {victim} read {read}; victim {victim_md5}, new file {new_md5}")
    assert read != victim_md5, (f"{client} read the victim's bytes: the gate-off creat did not "
                                "overwrite the memory it reused")
    assert read == new_md5, (f"{client} read {read} through the held descriptor: neither the "
                             f"victim's {victim_md5} nor the new file's {new_md5}")
    assert_reads(lab, client, new, new_md5)


def test_dead_client_blocks_reclaim_until_evicted(dlab):
    lab = dlab
    client = lab.clients[0]
    victim = f"{D}/c_victim"
    new1, new2 = f"{D}/c_new1", f"{D}/c_new2"
    victim_md5 = create(lab, victim, 30001)
    victim_map = extents(lab, victim)
    assert lab.wait_for(client, f"test -f {victim}", timeout=30).rc == 0, f"{victim} not on {client}"
    slot = status_field(lab, client, "host_slot")
    assert slot, f"{client}: no host_slot in {STATUS}:\n" + lab.sh(client, f"cat {STATUS}").describe()
    line = slot_line(hosts_table(lab), slot)
    named = re.search(r"host: (\S+) \(", line)
    assert named, f"no host name in the master's line for {client}'s slot {slot}: {line!r}"
    name = named.group(1)
    Holder(lab, client, victim, "held_c").start()

    lab.crash(client, how="quit")
    try:
        lab.ok(lab.master, f"famfs rm {victim}")
        new1_md5 = create(lab, new1, 30002)
        assert_apart(victim, victim_map, new1, extents(lab, new1),
                     f"while {client}, dead, held it open")
        # Heartbeats come every second: in 3 s a live host's counter moves.
        table = lab.ok(lab.master, f"famfs hosts --wait 3 {M}")
        assert "stale" in slot_line(table, slot), (
            f"dead {client}'s slot {slot} is not marked stale:\n" + table.describe())
        assert re.search(rf"waits for.* slot {slot} ", table.out), (
            f"the victim's space does not wait for dead {client}'s slot {slot}:\n"
            + table.describe())

        evict = lab.ok(lab.master, f"famfs host evict {name} {M}")
        assert f"evicted slot {slot}" in evict.out, evict.describe()
        evicted = slot_line(hosts_table(lab), slot)
        assert "evicted" in evicted, f"slot {slot} of {client} ({name}) after evict: {evicted!r}"
        table = wait_reclaimable(lab)
        new2_md5 = create(lab, new2, 30003)
        assert_reuses(victim, victim_map, new2, extents(lab, new2),
                      f"after {client} ({name}) was evicted", table)
    finally:
        lab.restart(client)
    mount(lab, client)

    await_or_fail(lab, client, f"grep -q '^host_standing: active' {STATUS}",
                  "not an active host after restart and mount", f"cat {STATUS}")
    assert lab.sh(client, f"test ! -e {victim}").rc == 0, f"{client} still sees {victim}"
    for path, digest in ((new1, new1_md5), (new2, new2_md5)):
        assert_reads(lab, client, path, digest)
    assert victim_md5 not in (new1_md5, new2_md5), (
        f"the victim's pattern equals a new file's ({victim_md5}): choose other seeds")
    names = set(lab.ok(client, f"ls {D}").out.split())
    assert "c_victim" not in names and {"c_new1", "c_new2"} <= names, f"{client}: {D} has {names}"
    for host in lab.hosts:
        assert_fsck_clean(lab, host)
