"""Scenario 7, the device re-formatted under a mounted client.

The master unmounts, runs `mkfs.famfs -f` and fills the new file system
(the old name again, with other bytes, and more files than the old one had)
while a client still serves the old one: first with the client running,
then with it frozen (QMP `stop`) through the whole re-format and resumed
(`cont`). Each client must find out on its own (its follower, or the check
every open and read makes), refuse the old tree with ESTALE (EIO where its
kernel turns it into that), never serve a byte of the new file system
through it (reads go through the mount: `md5sum`, `cat`; `famfs verify`
reads the device itself, so it checks the master's files only), and say in
`famfs status` what changed (old and new fs UUID); a remount shows the new
file system. The scenario leaves every host mounted on the new file system.
"""

import time

import pytest

from conftest import DEVICE, MKFS_FLAGS, MOUNTPOINT, mount

pytestmark = pytest.mark.stale

M = MOUNTPOINT
# What a client may answer for a name of the old tree once it knows.
REFUSALS = ("Stale file handle", "Input/output error")


def field(text, key):
    for line in text.splitlines():
        if line.startswith(key + ": "):
            return line[len(key) + 2:]
    return ""


def status(lab, host):
    return lab.ok(host, f"famfs status {M}").out


def md5(lab, host, path):
    return lab.ok(host, f"md5sum {path}").out.split()[0]


def reformat(lab, files):
    """The master re-formats and fills the device; returns its new fs_uuid
    and the md5 of each new file as its mount serves it."""
    lab.ok(lab.master, f"famfs umount {M}")
    lab.ok(lab.master, f"mkfs.famfs {MKFS_FLAGS} {DEVICE}")
    mount(lab, lab.master)
    digests = {}
    for path, seed in files.items():
        lab.ok(lab.master, f"famfs creat -s 1m -r -S {seed} {path}")
        assert "Success" in lab.ok(lab.master, f"famfs verify -S {seed} -f {path}").out
        digests[path] = md5(lab, lab.master, path)
    return field(status(lab, lab.master), "fs_uuid"), digests


def never_new_bytes_script(path, new_md5, tries=100):
    """Polls in the guest until the mount reports itself stale: meanwhile
    reading the old name through the mount may give the old bytes or fail,
    never the new file system's file."""
    return (f"i=0; while [ $i -lt {tries} ]; do "
            f"s=$(md5sum {path} 2>/dev/null | cut -d' ' -f1); "
            f"[ \"$s\" = {new_md5} ] && {{ echo NEW-BYTES $i; exit 2; }}; "
            f"famfs status {M} | grep -q '^device_stale: yes' && {{ echo STALE $i; exit 0; }}; "
            f"i=$((i+1)); sleep 0.1; done; echo NEVER-STALE; exit 1")


def assert_stale(lab, host, old_uuid, new_uuid, paths):
    """None of `paths` (old and new names) opens through the stale mount."""
    text = status(lab, host)
    assert field(text, "device_stale").startswith("yes"), text
    assert field(text, "mounted_fs_uuid") == old_uuid, text
    assert field(text, "new_fs_uuid") == new_uuid, text
    assert f"{old_uuid} -> {new_uuid}" in field(text, "device_change"), text
    assert "unmount and mount again" in text, text
    assert field(text, "errors") != "0", text
    for path in paths:
        r = lab.sh(host, f"cat {path} >/dev/null")
        assert r.rc != 0 and any(s in r.err for s in REFUSALS), r.describe()
    r = lab.sh(host, f"ls {M}")
    assert r.rc != 0 and any(s in r.err for s in REFUSALS), r.describe()


def remount_shows_new(lab, host, new_uuid, digests):
    lab.ok(host, f"famfs umount {M}")
    mount(lab, host)
    text = status(lab, host)
    assert field(text, "device_stale") == "no", text
    assert field(text, "fs_uuid") == new_uuid, text
    for path, digest in digests.items():
        assert md5(lab, host, path) == digest, path


def prepare_old(lab, files):
    for path, seed in files.items():
        lab.ok(lab.master, f"famfs creat -s 1m -r -S {seed} {path}")
    digests = {path: md5(lab, lab.master, path) for path in files}
    for host in lab.clients:
        for path, digest in digests.items():
            assert lab.wait_for(host, f"test -f {path}").rc == 0
            assert md5(lab, host, path) == digest, f"{host}: {path}"
    return field(status(lab, lab.master), "fs_uuid")


def test_reformat_under_a_running_client(famfs_lab):
    lab = famfs_lab
    old = {f"{M}/rf_a": 7001, f"{M}/rf_b": 7002}
    old_uuid = prepare_old(lab, old)
    # The old name again with other bytes, and more entries than before.
    new = {f"{M}/rf_a": 7011, **{f"{M}/rf_n{i}": 7020 + i for i in range(4)}}
    t0 = time.monotonic()
    new_uuid, digests = reformat(lab, new)
    assert new_uuid and new_uuid != old_uuid
    for host in lab.clients:
        r = lab.sh(host, never_new_bytes_script(f"{M}/rf_a", digests[f"{M}/rf_a"]), timeout=60)
        assert r.rc == 0, f"{host} after the re-format:\n{r.describe()}"
        print(f"{host}: {r.out.strip()}, {time.monotonic() - t0:.1f} s after the master's umount "
              f"(its mkfs, mount and {len(new)} creats included)")
        assert_stale(lab, host, old_uuid, new_uuid, [*old, *new])
    for host in lab.clients:
        remount_shows_new(lab, host, new_uuid, digests)


def test_reformat_while_a_client_is_paused(famfs_lab):
    lab = famfs_lab
    client = lab.clients[0]
    old = {f"{M}/ps_a": 7101}
    old_uuid = prepare_old(lab, old)
    new = {f"{M}/ps_a": 7111, **{f"{M}/ps_n{i}": 7120 + i for i in range(6)}}
    lab.stop(client)
    try:
        assert '"paused"' in lab.vm_state(client)
        new_uuid, digests = reformat(lab, new)
    finally:
        lab.cont(client)
    assert new_uuid and new_uuid != old_uuid
    # The first thing the resumed client does: read the old name.
    r = lab.sh(client, f"md5sum {M}/ps_a")
    assert digests[f"{M}/ps_a"] not in r.out, f"the resumed client served the new file:\n{r.describe()}"
    r = lab.sh(client, never_new_bytes_script(f"{M}/ps_a", digests[f"{M}/ps_a"]), timeout=60)
    assert r.rc == 0, f"{client} after cont:\n{r.describe()}"
    print(f"{client}: {r.out.strip()} after cont")
    for host in lab.clients:
        assert lab.wait_for(host, f"famfs status {M} | grep -q '^device_stale: yes'").rc == 0
        assert_stale(lab, host, old_uuid, new_uuid, [*old, *new])
    for host in lab.clients:
        remount_shows_new(lab, host, new_uuid, digests)
