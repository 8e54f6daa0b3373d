"""Thin Python wrapper over the `harness` binary for the lab scenarios.

pytest is only the driver: every action is a harness subcommand (which runs
the command in a guest through qemu-guest-agent) or a famfs binary inside a
guest. This module adds nothing but assertions-friendly return values.
"""

import os
import shlex
import subprocess
import time
from dataclasses import dataclass


@dataclass
class Run:
    host: str
    command: str
    rc: int
    out: str
    err: str
    seconds: float

    def describe(self):
        return (f"[{self.host}] $ {self.command}\n  exit {self.rc} after {self.seconds:.2f}s\n"
                f"  stdout: {self.out.strip()[-2000:]}\n  stderr: {self.err.strip()[-2000:]}")


class LabError(AssertionError):
    pass


class Lab:
    def __init__(self, harness, run_dir, topology):
        self.harness = harness
        self.run_dir = run_dir
        self.topology = topology
        self.master = None
        self.clients = []
        # Hosts the current test acted on (conftest names their console logs
        # when it fails); conftest clears it before each test.
        self.touched = set()

    # --- raw harness access -------------------------------------------------
    def harness_cmd(self, *args, timeout=600, check=True):
        argv = [self.harness, "--run-dir", self.run_dir, *args]
        start = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        r = Run("harness", shlex.join(args), p.returncode, p.stdout, p.stderr,
                time.monotonic() - start)
        if check and p.returncode != 0:
            raise LabError("harness failed:\n" + r.describe())
        return r

    def up(self, image, qemu="", kernel="", timeout_s=300):
        stack = [*(["--qemu", qemu] if qemu else []), *(["--kernel", kernel] if kernel else [])]
        r = self.harness_cmd("up", self.topology, "--image", image, *stack,
                             "--timeout", str(timeout_s), timeout=timeout_s + 600)
        print(r.err, end="")
        self.load_hosts()

    def decisions(self):
        """The stack's decisions from RUN/stack.txt (what `harness caps`
        prints): {name: (on, why)}."""
        with open(os.path.join(self.run_dir, "stack.txt")) as f:
            lines = f.read().split("\nDecisions\n", 1)[1].splitlines()
        found = {}
        for line in lines:
            name, _, rest = line.strip().partition(" = ")
            state, _, why = rest.partition(" (")
            found[name] = (state == "on", why[:-1] if why.endswith(")") else why)
        return found

    def features(self):
        """The stack's decisions: {name: True/False}."""
        return {name: on for name, (on, _) in self.decisions().items()}

    def load_hosts(self):
        lines = self.harness_cmd("hosts").out.split("\n")
        roles = [line.split() for line in lines if line.strip()]
        self.master = next(name for name, role in roles if role == "master")
        self.clients = [name for name, role in roles if role == "client"]

    @property
    def hosts(self):
        return [self.master, *self.clients]

    def console_log(self, host):
        return os.path.join(self.run_dir, "hosts", host, "console.log")

    def down(self):
        return self.harness_cmd("down", check=False, timeout=120)

    # --- guests -------------------------------------------------------------
    def sh(self, host, command, timeout=120, stdin_file=None):
        """Runs a shell command in guest `host`; returns a Run (never raises
        for a non-zero exit: scenarios assert on rc and output themselves)."""
        self.touched.add(host)
        args = ["exec", "--host", host, "--timeout", str(timeout)]
        if stdin_file:
            args += ["--stdin", stdin_file]
        argv = [self.harness, "--run-dir", self.run_dir, *args, "--", command]
        start = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 60)
        return Run(host, command, p.returncode, p.stdout, p.stderr, time.monotonic() - start)

    def ok(self, host, command, timeout=120):
        """Runs a command that must succeed; fails the test with its output."""
        r = self.sh(host, command, timeout)
        if r.rc != 0:
            raise LabError("command failed:\n" + r.describe())
        return r

    def sh_async(self, host, command, timeout=120):
        self.touched.add(host)
        argv = [self.harness, "--run-dir", self.run_dir, "exec", "--host", host,
                "--timeout", str(timeout), "--", command]
        return host, command, time.monotonic(), subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def wait_async(handle, timeout=300):
        host, command, start, proc = handle
        out, err = proc.communicate(timeout=timeout)
        return Run(host, command, proc.returncode, out, err, time.monotonic() - start)

    def wait_for(self, host, shell_test, timeout=10.0, interval=0.1):
        """Polls `shell_test` in the guest until it succeeds (bounded)."""
        script = (f"i=0; until {shell_test}; do i=$((i+1)); "
                  f"[ $i -gt {int(timeout / interval)} ] && exit 1; sleep {interval}; done")
        return self.sh(host, script, timeout=timeout + 30)

    # --- machine control ----------------------------------------------------
    def stop(self, host):
        self.touched.add(host)
        self.harness_cmd("stop", "--host", host)

    def cont(self, host):
        self.touched.add(host)
        self.harness_cmd("cont", "--host", host)

    def crash(self, host, how="quit"):
        self.touched.add(host)
        self.harness_cmd("crash", "--host", host, "--how", how)

    def restart(self, host):
        self.touched.add(host)
        self.harness_cmd("restart", "--host", host, timeout=600)

    def vm_state(self, host):
        out = self.harness_cmd("qmp", "--host", host, "query-status").out
        return out
