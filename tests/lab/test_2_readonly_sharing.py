"""Scenario 2, read-only sharing: the master creates files; all clients verify
them at the same time; clients cannot create files or change metadata."""

import pytest

pytestmark = pytest.mark.sharing

D = "/mnt/famfs/ro"
SEEDS = {f"{D}/r{i}": 2000 + i for i in range(4)}


@pytest.fixture(scope="module")
def files(famfs_lab):
    lab = famfs_lab
    lab.ok(lab.master, f"famfs mkdir {D}")
    for path, seed in SEEDS.items():
        lab.ok(lab.master, f"famfs creat -s 2m -r -S {seed} {path}")
    for host in lab.clients:
        last = list(SEEDS)[-1]
        assert lab.wait_for(host, f"test -f {last}").rc == 0, f"{last} never appeared on {host}"
    return lab


def verify_all_script():
    # Every file verified by its own process, all at once, inside one guest.
    parts = [f"(famfs verify -S {seed} -f {path} || echo FAIL {path}) &"
             for path, seed in SEEDS.items()]
    return " ".join(parts) + " wait"


def test_all_clients_verify_concurrently(files):
    lab = files
    handles = [lab.sh_async(h, verify_all_script()) for h in [lab.master, *lab.clients]]
    for h in handles:
        r = lab.wait_async(h)
        assert r.rc == 0, r.describe()
        assert "FAIL" not in r.out, r.describe()
        assert r.out.count("Success") == len(SEEDS), r.describe()


@pytest.mark.parametrize("attempt", [
    "famfs creat -s 4096 {d}/client_file",
    "famfs mkdir {d}/client_dir",
    "touch {d}/client_touch",
    "mkdir {d}/client_mkdir",
])
def test_client_cannot_create(files, attempt):
    lab = files
    for host in lab.clients:
        cmd = attempt.format(d=D)
        r = lab.sh(host, cmd)
        assert r.rc != 0, f"a client could create metadata:\n{r.describe()}"
    name = attempt.split()[-1].format(d=D)
    for host in lab.hosts:
        assert lab.sh(host, f"test -e {name}").rc != 0, f"{name} exists on {host}"


def test_client_cannot_change_metadata(files):
    lab = files
    path = next(iter(SEEDS))
    for host in lab.clients:
        for cmd in (f"rm {path}", f"mv {path} {path}.moved", f"truncate -s 0 {path}"):
            r = lab.sh(host, cmd)
            assert r.rc != 0, f"a client changed metadata:\n{r.describe()}"
    # chmod is accepted as the reference's daemon accepts it: in memory on
    # that host only, never logged, so no other host sees it.
    mode = lab.ok(lab.master, f"stat -c %a {path}").out.strip()
    changer = lab.clients[0]
    lab.ok(changer, f"chmod 0777 {path}")
    assert lab.ok(changer, f"stat -c %a {path}").out.strip() == "777"
    for host in lab.hosts:
        if host != changer:
            assert lab.ok(host, f"stat -c %a {path}").out.strip() == mode, host
    lab.ok(changer, f"chmod {mode} {path}")
    for host in lab.hosts:
        r = lab.ok(host, f"stat -c '%a %s' {path}")
        assert r.out.split()[1] == str(2 << 20)
        assert lab.ok(host, f"famfs verify -S {SEEDS[path]} -f {path}").rc == 0
