"""Scenario 3, stale metadata on demand.

All guests share one host CPU cache, so real incoherence never happens in the
lab; staleness is made deliberately: a client is frozen with QMP `stop` while
the master appends to the log, so its view is held back until `cont`. The
one-command recipe, interactively:

    harness stop --host node2 && \
    harness exec --host node1 -- famfs creat -s 1m -r -S 7 /mnt/famfs/new && \
    harness cont --host node2

On `cont` the client's FUSE server must catch up (the file appears within a
moment) and must never serve wrong data meanwhile: a file is either absent or
verifies.
"""

import pytest

pytestmark = pytest.mark.stale

D = "/mnt/famfs/stale"
BEFORE = {f"{D}/before": 3000}
DURING = {f"{D}/during{i}": 3100 + i for i in range(3)}


def watch_script(path, seed, tries=100):
    """Polls in the guest: once the file is visible it must verify at once."""
    return (f"i=0; while [ $i -lt {tries} ]; do "
            f"if [ -e {path} ]; then famfs verify -S {seed} -f {path} >/dev/null 2>&1 "
            f"&& {{ echo SEEN-OK $i; exit 0; }} || {{ echo WRONG-DATA $i; exit 2; }}; fi; "
            f"i=$((i+1)); sleep 0.05; done; echo NEVER-SEEN; exit 1")


def test_paused_client_catches_up_without_wrong_data(famfs_lab):
    lab = famfs_lab
    client = lab.clients[0]
    lab.ok(lab.master, f"famfs mkdir {D}")
    for path, seed in BEFORE.items():
        lab.ok(lab.master, f"famfs creat -s 1m -r -S {seed} {path}")
        assert lab.wait_for(client, f"test -f {path}").rc == 0

    lab.stop(client)
    try:
        assert '"paused"' in lab.vm_state(client)
        # The frozen client answers nothing: exec fails fast, it does not hang.
        frozen = lab.sh(client, "true", timeout=3)
        assert frozen.rc != 0, frozen.describe()
        for path, seed in DURING.items():
            lab.ok(lab.master, f"famfs creat -s 1m -r -S {seed} {path}")
            assert "Success" in lab.ok(lab.master, f"famfs verify -S {seed} -f {path}").out
    finally:
        lab.cont(client)

    for path, seed in DURING.items():
        r = lab.sh(client, watch_script(path, seed), timeout=60)
        assert r.rc == 0, f"client after cont:\n{r.describe()}"
    for path, seed in {**BEFORE, **DURING}.items():
        assert "Success" in lab.ok(client, f"famfs verify -S {seed} -f {path}").out
    names = set(lab.ok(client, f"ls {D}").out.split())
    assert names == {p.rsplit("/", 1)[1] for p in {**BEFORE, **DURING}}


def test_logplay_on_client_is_idempotent(famfs_lab):
    lab = famfs_lab
    client = lab.clients[0]
    before = lab.ok(client, f"ls -R /mnt/famfs").out
    lab.ok(client, "famfs logplay -c /mnt/famfs")
    assert lab.ok(client, f"ls -R /mnt/famfs").out == before
