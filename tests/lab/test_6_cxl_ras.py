"""Scenario 6, CXL RAS events (QEMU >= 8.1, guest kernel >= 6.5): what the
newer stack can emulate beyond data-path poison, and what famfs does with it.

- A poison-list entry (QMP cxl-inject-poison) raises no machine check and the
  data stays readable: a guest learns of it only by reading the device's
  poison list. famfs_fused reads the list on a short interval and fails
  exactly the files whose extents cover the entry, before any load touches
  them, while the other files keep working.
- A general media event record reaches the guest kernel (trace event
  cxl_general_media) and famfs stays correct.
- An uncorrectable (AER) error makes the guest's CXL driver give up the
  device; famfs on that host never serves wrong bytes, the other hosts are
  unaffected, and a reboot brings the host back.

Each case is skipped, with the reason, on a stack whose QEMU or guest kernel
lacks the feature (harness caps says which); the new stack runs them all.
"""

import re
import time

import pytest

from conftest import MOUNTPOINT, mount, require
from test_5_faults import MiB, create, read_through_mount, verify

pytestmark = pytest.mark.cxlras

D = f"{MOUNTPOINT}/ras"
HIT = (f"{D}/hit", 4 * MiB, 31)
NEIGHBOUR = (f"{D}/neighbour", 4 * MiB, 32)
AT = MiB + 4096 * 3 + 100  # file offset of the poisoned or reported byte
TRACE = "/sys/kernel/tracing/instances/lab_ras"


@pytest.fixture(scope="module")
def ras_lab(famfs_lab):
    lab = famfs_lab
    lab.ok(lab.master, f"famfs mkdir -p {D}")
    for path, size, seed in (HIT, NEIGHBOUR):
        create(lab, path, size, seed)
    return lab


def device_offset(out):
    return int(re.search(r"device offset (0x[0-9a-f]+)", out).group(1), 16)


def trace_events(lab, host, events):
    """Starts a private trace instance recording the given cxl events."""
    enable = "; ".join(f"echo 1 > {TRACE}/events/cxl/{e}/enable" for e in events)
    lab.ok(host, f"mkdir -p {TRACE} && echo > {TRACE}/trace && {enable}")


def wait_trace(lab, host, pattern_text, timeout=20):
    r = lab.wait_for(host, f"grep -q '{pattern_text}' {TRACE}/trace", timeout=timeout)
    return r.rc == 0, lab.sh(host, f"cat {TRACE}/trace | grep -v '^#' | tail -n 5").out


def neighbour_args():
    path, size, seed = NEIGHBOUR
    return path, seed, size


def famfs_status(lab, host):
    return lab.ok(host, f"famfs status {MOUNTPOINT}", timeout=30).out


# The poison-list entry of the first case, for the recovery case.
injected = {}


def test_poison_list_entry_fails_exactly_the_files_it_covers(ras_lab):
    require(ras_lab, "CXL poison list")
    lab = ras_lab
    path, size, seed = HIT
    for host in lab.hosts:
        assert "poison_watch" in famfs_status(lab, host)
    out = lab.harness_cmd("inject", "poison", "--method", "cxl-poison-list", "--host", lab.master,
                          "--file", path, "--offset", str(AT)).out
    print("\n" + out)
    dev_off = device_offset(out)
    injected["dpa"] = int(re.search(r"DPA (0x[0-9a-f]+)", out).group(1), 16)
    assert out.count("via cxl-poison-list") == len(lab.hosts), out

    for host in lab.hosts:
        # The entry is in the device's poison list, as the guest kernel reads it.
        trace_events(lab, host, ["cxl_poison"])
        lab.ok(host, "echo 1 > /sys/bus/cxl/devices/mem0/trigger_poison_list")
        found, tail = wait_trace(lab, host, "cxl_poison")
        assert found, f"{host}: no cxl_poison record after trigger_poison_list:\n{tail}"
        # famfs_fused found it by itself and names the file and the place.
        named = lab.wait_for(host, f"famfs status {MOUNTPOINT} | grep -q 'poisoned: .*{path}'",
                             timeout=10)
        status = famfs_status(lab, host)
        assert named.rc == 0, f"{host}: famfs status does not name {path}:\n{status}"
        line = next(l for l in status.splitlines() if l.startswith("poisoned:") and path in l)
        at = int(re.search(r"device offset (0x[0-9a-f]+)", line).group(1), 16)
        assert at <= dev_off < at + 4096, (hex(at), hex(dev_off), line)
        assert NEIGHBOUR[0] not in line, line
        # Exactly that file fails, with EIO, without reading the poisoned bytes.
        r = read_through_mount(lab, host, path, seed, size)
        assert r.rc != 0 and "Input/output error" in r.err, r.describe()
        assert read_through_mount(lab, host, *neighbour_args()).rc == 0
        assert verify(lab, host, NEIGHBOUR[0], NEIGHBOUR[2]).rc == 0


def test_poison_list_entry_cleared_then_remount_serves_the_file(ras_lab):
    """Recovery from a poison-list entry: the device clears it (the guest
    kernel's clear_poison debugfs; as the CXL spec says, clearing writes new
    data, zeros, over the 64 poisoned bytes), the master writes the file
    again, every host remounts, and the file is whole everywhere."""
    require(ras_lab, "CXL poison list")
    if "dpa" not in injected:
        pytest.skip("the poison-list case did not inject")
    lab = ras_lab
    path, size, seed = HIT
    for host in lab.hosts:
        lab.ok(host, f"echo {injected['dpa']:#x} > /sys/kernel/debug/cxl/mem0/clear_poison")
    lab.ok(lab.master, f"famfs creat -r -S {seed} {path}", timeout=300)
    for host in lab.hosts:
        lab.ok(host, f"famfs umount {MOUNTPOINT}", timeout=60)
        mount(lab, host)
        time.sleep(1)  # a few poll intervals of the watcher
        poisoned = [l for l in famfs_status(lab, host).splitlines() if l.startswith("poisoned:")]
        assert not poisoned, f"{host}: still poisoned after the clear: {poisoned}"
        assert verify(lab, host, path, seed).rc == 0
        assert read_through_mount(lab, host, path, seed, size).rc == 0


def test_general_media_event_reaches_the_guest(ras_lab):
    require(ras_lab, "CXL general media events")
    lab = ras_lab
    host = lab.clients[0]
    trace_events(lab, host, ["cxl_general_media"])
    out = lab.harness_cmd("inject", "general-media-event", "--host", host,
                          "--file", NEIGHBOUR[0], "--offset", str(AT)).out
    print("\n" + out)
    found, tail = wait_trace(lab, host, "cxl_general_media")
    assert found, f"{host}: no cxl_general_media record:\n{tail}"
    # famfs stays correct on every host.
    for h in lab.hosts:
        assert verify(lab, h, NEIGHBOUR[0], NEIGHBOUR[2]).rc == 0
        assert read_through_mount(lab, h, *neighbour_args()).rc == 0


def test_uncorrectable_error_takes_the_device_from_one_host(ras_lab):
    """An uncorrectable CXL error: the victim's kernel disables CXL.mem and
    resets the link, so its region and dax device go away. famfs on that host
    answers EIO (never other bytes), the other hosts are unaffected, and a
    reboot brings the victim back."""
    require(ras_lab, "CXL uncorrectable errors")
    lab = ras_lab
    victim = lab.clients[-1]
    path, size, seed = NEIGHBOUR
    # The victim is rebooted however the checks end: the scenarios after
    # this one need every host back.
    try:
        out = lab.harness_cmd("inject", "uncorrectable-error", "--host", victim).out
        print("\n" + out)
        seen = lab.wait_for(victim, "dmesg | grep -q 'disable CXL.mem'", timeout=30)
        assert seen.rc == 0, lab.sh(victim, "dmesg | tail -n 20").out
        failed = lab.wait_for(victim, f"famfs status {MOUNTPOINT} | grep -q '^device_failed: yes'",
                              timeout=30)
        assert failed.rc == 0, famfs_status(lab, victim)
        r = read_through_mount(lab, victim, path, seed, size)
        assert r.rc != 0, f"{victim} served a file of a device its kernel gave up:\n{r.describe()}"
        for host in lab.hosts:
            if host == victim:
                continue
            assert "device_failed: no" in famfs_status(lab, host)
            assert verify(lab, host, path, seed).rc == 0
            assert read_through_mount(lab, host, path, seed, size).rc == 0
    finally:
        lab.crash(victim, how="kill")
        lab.restart(victim)
        mount(lab, victim)
    assert "device_failed: no" in famfs_status(lab, victim)
    assert verify(lab, victim, path, seed).rc == 0
    assert read_through_mount(lab, victim, path, seed, size).rc == 0
