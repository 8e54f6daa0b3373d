"""Scenario 9, sharing under the interception library: the data-moving steps
of the serial and read-only sharing scenarios (1 and 2) run unmodified
programs under `famfs run -v --`, so their reads and writes of famfs files
are served from the device memory by libfamfs_intercept.so instead of going
through the mount. Every such step asserts two things: the data outcome the
plain scenarios assert (a writer under the library on one host, a reader
through the mount on another, and the reverse), and the library's own report
that it really served the calls (counts above 0, no "not served:" line for
the famfs file).

The programs are GNU dd and cmp, installed off PATH in the guest image
(vm-images/build.sh): busybox is static, so LD_PRELOAD cannot reach it. Their
other files come from shell redirections, so each process opens only the
famfs file itself."""

import os
import re
import sys

import pytest

pytestmark = pytest.mark.intercept

LIBRARY = "libfamfs_intercept.so"
DD = "/usr/libexec/lab/dd"
CMP = "/usr/libexec/lab/cmp"
D = "/mnt/famfs/intercept"
SERIAL = {f"{D}/s{i}": 9000 + i for i in range(3)}
READONLY = {f"{D}/r{i}": 9100 + i for i in range(3)}
SIZE = 1 << 20
BLOCKS = 16  # a written range: 16 blocks of 4 KiB


def lib(command):
    """`command` (one program and its arguments) under the library."""
    return f"famfs run -v -- {command}"


def parse_counts(text):
    """"read 3, fstat 1" -> {"read": 3, "fstat": 1}; "nothing" -> {}."""
    text = text.strip()
    if text == "nothing":
        return {}
    return {name: int(n) for name, n in (item.rsplit(" ", 1) for item in text.split(", "))}


def parse_reports(text):
    """The library's exit reports in `text`, one dict per process:
    {"program", "served", "passed", "not_served"}."""
    reports = []
    for line in text.splitlines():
        line = line.strip()
        head = re.match(r"famfs intercept: pid \d+ \((.*)\)$", line)
        if head:
            reports.append({"program": head.group(1), "served": {}, "passed": {},
                            "not_served": []})
        elif not reports:
            continue
        elif line.startswith("served from memory:"):
            reports[-1]["served"] = parse_counts(line.split(":", 1)[1])
        elif line.startswith("passed to the mount:"):
            reports[-1]["passed"] = parse_counts(line.split(":", 1)[1])
        elif line.startswith("not served:"):
            reports[-1]["not_served"].append(line)
    return reports


def assert_served(run, path, calls, processes=1):
    """The library served `calls` (each more than 0 times) on `path` in each
    of `processes` reports, and refused nothing on it."""
    reports = parse_reports(run.err)
    assert len(reports) == processes, (
        f"{processes} interception report(s) expected (is the library in the image?)\n"
        + run.describe())
    for report in reports:
        for call in calls:
            assert report["served"].get(call, 0) > 0, (
                f"{run.host}: the library did not serve {call} on {path}: {report}\n"
                + run.describe())
        refused = [line for line in report["not_served"] if path in line]
        assert not refused, f"{run.host}: the library passed {path} to the mount: {refused}"


@pytest.fixture(scope="module")
def files(famfs_lab, build_dir):
    """Pattern files for both halves; each guest must have the library."""
    lab = famfs_lab
    if not os.path.exists(os.path.join(build_dir, "bin", LIBRARY)):
        msg = f"SKIPPING the interception scenario: {build_dir}/bin/{LIBRARY} not built"
        print("\n*** " + msg + " ***", file=sys.stderr)
        pytest.skip(msg)
    for host in lab.hosts:
        lab.ok(host, f"test -x {DD} && test -x {CMP} && famfs run -- true || "
                     "{ echo 'the interception library or its tools are missing from the "
                     "guest image: make vm-image' >&2; exit 1; }")
    lab.ok(lab.master, f"famfs mkdir {D} && " + " && ".join(
        f"famfs creat -s {SIZE} -r -S {seed} {path}"
        for path, seed in {**SERIAL, **READONLY}.items()))
    last = list(READONLY)[-1]
    for host in lab.clients:
        assert lab.wait_for(host, f"test -f {last}").rc == 0, f"{last} never appeared on {host}"
    return lab


@pytest.fixture(scope="module")
def digests(files):
    """Each pattern file's md5, read by the master through the mount after
    `famfs verify` proved the pattern: what every reader must get."""
    lab = files
    every = {**SERIAL, **READONLY}
    verified = lab.ok(lab.master, "famfs verify " + " ".join(
        f"-m {path},{seed}" for path, seed in every.items()))
    assert verified.out.count("Success") == len(every), verified.describe()
    sums = lab.ok(lab.master, "md5sum " + " ".join(every)).out.splitlines()
    return {line.split()[1]: line.split()[0] for line in sums}


# --- serial sharing (scenario 1) ---------------------------------------------

def test_every_host_reads_the_pattern_files_under_the_library(files, digests):
    lab = files
    for host in lab.hosts:
        for path in SERIAL:
            r = lab.ok(host, lib(f"{DD} if={path} bs=64k status=none") + " | md5sum")
            assert r.out.split()[0] == digests[path], f"{host}: {path} read wrong bytes"
            assert_served(r, path, ["read"])


def test_cmp_under_the_library_matches_the_mount(files):
    """cmp of the served file against a copy read through the same host's
    mount: equal for the file itself, different for another file."""
    lab = files
    path, other = list(SERIAL)[:2]
    for host in lab.clients:
        lab.ok(host, f"cat {path} > /tmp/plain && cat {other} > /tmp/other")
        same = lab.sh(host, lib(f"{CMP} {path} -") + " < /tmp/plain")
        assert same.rc == 0, same.describe()
        assert_served(same, path, ["read"])
        differ = lab.sh(host, lib(f"{CMP} {path} -") + " < /tmp/other")
        assert differ.rc == 1 and "differ" in differ.out, differ.describe()
        assert_served(differ, path, ["read"])


def write_range(lab, host, target, block, under_library):
    """Writes 64 KiB of fresh random bytes at `block`; returns their md5."""
    dd = (lib(f"{DD} of={target} bs=4096 seek={block} conv=notrunc,fsync status=none")
          if under_library else
          f"dd of={target} bs=4096 seek={block} conv=notrunc,fsync 2>/dev/null")
    r = lab.ok(host, f"head -c {BLOCKS * 4096} /dev/urandom > /tmp/blob && "
                     f"{dd} < /tmp/blob && md5sum < /tmp/blob")
    if under_library:
        assert_served(r, target, ["write", "fsync"])
    return r.out.split()[0]


def read_range(lab, host, target, block, under_library):
    """The md5 of the 64 KiB at `block` as `host` reads them."""
    dd = (lib(f"{DD} if={target} bs=4096 skip={block} count={BLOCKS} status=none")
          if under_library else
          f"dd if={target} bs=4096 skip={block} count={BLOCKS} 2>/dev/null")
    r = lab.ok(host, f"{dd} | md5sum")
    if under_library:
        assert_served(r, target, ["read"])
    return r.out.split()[0]


@pytest.mark.parametrize("writer", ["master", "client"], ids=["master_writes", "client_writes"])
@pytest.mark.parametrize("served", ["writer", "reader"], ids=["library_writes", "library_reads"])
def test_write_on_one_host_read_on_another(files, writer, served):
    """One side moves the data under the library, the other through its
    mount; the reader gets exactly the bytes the writer wrote."""
    lab = files
    target = f"{D}/w-{writer}-{served}"
    lab.ok(lab.master, f"famfs creat -m 0666 -s {SIZE} {target}")
    for i, client in enumerate(lab.clients):
        assert lab.wait_for(client, f"test -f {target}").rc == 0, f"{target} not on {client}"
        src, dst = (lab.master, client) if writer == "master" else (client, lab.master)
        block = BLOCKS * i
        written = write_range(lab, src, target, block, served == "writer")
        seen = read_range(lab, dst, target, block, served == "reader")
        assert seen == written, f"{dst} does not see what {src} wrote (library on the {served})"


# --- read-only sharing (scenario 2) ------------------------------------------

def read_all_script():
    """Every read-only file read by its own process under the library, all
    at once in one guest; each process reports into its own file."""
    parts = [f"(FAMFS_INTERCEPT_REPORT=/tmp/ro-report.{i} "
             + lib(f"{DD} if={path} bs=1M status=none")
             + f" | md5sum | sed 's|-$|{path}|') &"
             for i, path in enumerate(READONLY)]
    reports = " ".join(f"/tmp/ro-report.{i}" for i in range(len(READONLY)))
    return (f"rm -f /tmp/ro-report.*; {' '.join(parts)} wait; "
            f"for f in {reports}; do cat $f >&2; done")


def test_all_hosts_read_concurrently_under_the_library(files, digests):
    lab = files
    handles = [lab.sh_async(h, read_all_script()) for h in lab.hosts]
    for handle in handles:
        r = lab.wait_async(handle)
        assert r.rc == 0, r.describe()
        got = {line.split()[1]: line.split()[0] for line in r.out.splitlines() if line.strip()}
        assert got == {path: digests[path] for path in READONLY}, r.describe()
        # One report per reader; D names every file in a refusal.
        assert_served(r, D, ["read"], processes=len(READONLY))
