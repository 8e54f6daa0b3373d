"""Session fixtures for the multi-host lab scenarios.

One lab per pytest session (run.sh starts one session per topology): booting
is the slow part, so every scenario of a topology shares one running lab.
"""

import os
import sys

import pytest

from labctl import Lab

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# mkfs.famfs refuses small devices unless asked; the lab's regions are 1 GiB.
MKFS_FLAGS = os.environ.get("LAB_MKFS_FLAGS", "-f --allow-small")
MOUNTPOINT = "/mnt/famfs"
DEVICE = "/dev/famfs0"


def pytest_addoption(parser):
    parser.addoption("--topology", default=os.environ.get("LAB_TOPOLOGY", "cxl2"))
    parser.addoption("--qemu", default=os.environ.get("LAB_QEMU", ""),
                     help="system, 10, 11 or a path (default: the topology's)")
    parser.addoption("--kernel", default=os.environ.get("LAB_KERNEL", ""),
                     help="6.1, 6.12 or a version (default: the topology's)")
    parser.addoption("--build-dir", default=os.environ.get("LAB_BUILD_DIR", "build"))
    parser.addoption("--run-dir", default=None,
                     help="harness run directory (default OUT/<topology>/run)")


@pytest.fixture(scope="session")
def build_dir(request):
    return os.path.abspath(request.config.getoption("--build-dir"))


@pytest.fixture(scope="session")
def lab(request, build_dir):
    topology = request.config.getoption("--topology")
    run_dir = request.config.getoption("--run-dir") or os.path.join(
        REPO, "out", "lab", topology, "run")
    harness = os.path.join(build_dir, "bin", "harness")
    if not os.path.exists(harness):
        pytest.fail(f"{harness} missing: build first (make build)")
    the_lab = Lab(harness, run_dir, topology)
    try:
        the_lab.up(os.path.join(build_dir, "vm-image"), request.config.getoption("--qemu"),
                   request.config.getoption("--kernel"))
    except Exception:
        the_lab.down()
        raise
    yield the_lab
    the_lab.down()


@pytest.fixture(autouse=True)
def _note_touched_hosts(request):
    """Clears the hosts the last test acted on (see the report hook)."""
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab").touched.clear()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test names the console log of each host it acted on (every
    host when it acted on none): the guest kernel's side of the story."""
    outcome = yield
    report = outcome.get_result()
    the_lab = item.funcargs.get("lab") if hasattr(item, "funcargs") else None
    if not report.failed or the_lab is None or not the_lab.master:
        return
    hosts = [h for h in the_lab.hosts if h in the_lab.touched] or the_lab.hosts
    report.sections.append(("console logs", "\n".join(
        f"{h}: {the_lab.console_log(h)}" for h in hosts)))


@pytest.fixture(scope="session")
def features(lab):
    """What the lab's stack can do, as the harness decided it (stack.txt)."""
    return lab.features()


def require(lab, feature):
    """Skips the calling test, with the stack's reason, when the stack lacks
    `feature` (a decision of RUN/stack.txt, as `harness caps` prints it)."""
    on, why = lab.decisions()[feature]
    if not on:
        pytest.skip(f"this stack has no {feature}: {why} (harness caps; {lab.run_dir}/stack.txt)")


def famfs_built(build_dir):
    return all(os.path.exists(os.path.join(build_dir, "bin", b))
               for b in ("famfs", "mkfs.famfs", "famfs_fused"))


@pytest.fixture(scope="session")
def famfs_lab(lab, build_dir):
    """The lab with a fresh famfs: formatted by the master, mounted everywhere."""
    if not famfs_built(build_dir):
        msg = (f"SKIPPING famfs scenarios: famfs binaries not built in {build_dir}/bin "
               "(famfs, mkfs.famfs, famfs_fused)")
        print("\n*** " + msg + " ***", file=sys.stderr)
        pytest.skip(msg)
    for host in lab.hosts:
        lab.ok(host, "command -v famfs mkfs.famfs famfs_fused >/dev/null || "
                     "{ echo 'famfs binaries missing from the guest image: make vm-image' >&2; exit 1; }")
    lab.ok(lab.master, f"mkfs.famfs {MKFS_FLAGS} {DEVICE}")
    for host in lab.hosts:
        mount(lab, host)
    return lab


def mount(lab, host):
    lab.ok(host, f"mkdir -p {MOUNTPOINT} && famfs mount {DEVICE} {MOUNTPOINT}")
    lab.ok(host, f"grep -q ' {MOUNTPOINT} ' /proc/mounts")
