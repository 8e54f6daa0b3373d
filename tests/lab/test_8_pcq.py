"""Scenario 8, pcq: an application shares data across hosts through mapped
shared memory. The master creates producer/consumer queues; a producer on
one host and a consumer on another hand thousands of seeded, CRC-checked
messages through the device memory (each side writes back its stores and
invalidates what it reads), in both directions; a timed run loses nothing
(what the consumer took plus what a drain finds is what was sent)."""

import os

import pytest

pytestmark = pytest.mark.pcq

D = "/mnt/famfs/pcq"
MESSAGES = 2000


@pytest.fixture(scope="module")
def queues(famfs_lab, build_dir):
    lab = famfs_lab
    if not os.path.exists(os.path.join(build_dir, "bin", "pcq")):
        pytest.fail(f"{build_dir}/bin/pcq is not built (make build)")
    for host in lab.hosts:
        lab.ok(host, "command -v pcq >/dev/null || "
                     "{ echo 'pcq missing from the guest image: make vm-image' >&2; exit 1; }")
    lab.ok(lab.master, f"famfs mkdir -p {D}")
    for name in ("m2c", "c2m", "timed"):
        lab.ok(lab.master, f"pcq --create --bsize 4K --nbuckets 64 {D}/{name}")
    for host in lab.clients:
        for name in ("m2c", "c2m", "timed"):
            for f in (f"{D}/{name}", f"{D}/{name}.consumer"):
                assert lab.wait_for(host, f"test -f {f}").rc == 0, f"{f} never appeared on {host}"
    return lab


def status_value(lab, host, path):
    return int(lab.ok(host, f"cat {path}").out.strip())


def info(lab, host, queue):
    return lab.ok(host, f"pcq --info {queue}").out


def hand_over(lab, producer, consumer, queue, seed):
    """Consumer first (it waits), then the producer on the other host."""
    waiting = lab.sh_async(consumer, f"pcq --consumer -N {MESSAGES} --seed {seed} "
                                     f"--statusfile /tmp/pcq.rcvd {queue}", timeout=600)
    sent = lab.sh(producer, f"pcq --producer -N {MESSAGES} --seed {seed} "
                            f"--statusfile /tmp/pcq.sent {queue}", timeout=600)
    received = lab.wait_async(waiting, timeout=700)
    assert sent.rc == 0, sent.describe()
    assert received.rc == 0, received.describe()
    assert status_value(lab, producer, "/tmp/pcq.sent") == MESSAGES
    assert status_value(lab, consumer, "/tmp/pcq.rcvd") == MESSAGES
    assert f"nreceived={MESSAGES} nerrors=0" in received.out, received.describe()


def test_master_produces_client_consumes(queues):
    lab = queues
    q = f"{D}/m2c"
    for client in lab.clients:
        hand_over(lab, lab.master, client, q, seed=17)
    total = MESSAGES * len(lab.clients)
    for host in lab.hosts:  # every host sees both indices where they ended
        assert f"contains 0 messages p next_seq {total} c next_seq {total}" in info(lab, host, q)


def test_client_produces_master_consumes(queues):
    lab = queues
    q = f"{D}/c2m"
    for client in lab.clients:
        hand_over(lab, client, lab.master, q, seed=29)


def test_timed_run_loses_nothing(queues):
    lab = queues
    q = f"{D}/timed"
    client = lab.clients[0]
    consumer = lab.sh_async(client, f"pcq --consumer --seed 5 --time 8 -s 2 "
                                    f"--statusfile /tmp/pcq.t.rcvd {q}", timeout=120)
    producer = lab.sh(lab.master, f"pcq --producer --seed 5 --time 5 -s 2 "
                                  f"--statusfile /tmp/pcq.t.sent {q}", timeout=120)
    received = lab.wait_async(consumer, timeout=180)
    assert producer.rc == 0, producer.describe()
    assert received.rc == 0, received.describe()
    assert "prod(nsent=" in producer.out, producer.describe()  # the status lines
    drained = lab.ok(client, f"pcq --drain --seed 5 --statusfile /tmp/pcq.t.drained {q}")
    sent = status_value(lab, lab.master, "/tmp/pcq.t.sent")
    got = status_value(lab, client, "/tmp/pcq.t.rcvd")
    left = status_value(lab, client, "/tmp/pcq.t.drained")
    assert sent > 0, producer.describe()
    assert got + left == sent, f"sent {sent}, received {got}, drained {left}\n{drained.describe()}"
    assert f"contains 0 messages p next_seq {sent} c next_seq {sent}" in info(lab, lab.master, q)


def test_client_cannot_create_a_queue(queues):
    lab = queues
    client = lab.clients[0]
    r = lab.sh(client, f"pcq --create --bsize 4K --nbuckets 16 {D}/fromclient")
    assert r.rc != 0 and "master" in r.err, r.describe()
    assert lab.sh(lab.master, f"test -e {D}/fromclient").rc != 0
