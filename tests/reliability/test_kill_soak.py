"""Kill soak: lifecycles in which one command, chosen at random, is SIGKILLed at a
random moment, two callers at a time; afterwards one `delete --force` per
container must succeed, and the host must be exactly as before.

The fault matrix (test_fault_matrix.py) kills at each named step; this kills
between them, wherever the scheduler happens to be: in the middle of a write,
between a fork and its first message, with a cgroup half frozen.

OCI_RUNTIME_KILL_SOAK lifecycles (default 200 in `make test`; `make test-soak`,
which CI runs, does 1000), OCI_RUNTIME_KILL_SOAK_SEED to replay a run (the
seed is printed).  Compared before and after: the host's mount table, every
cgroup directory, processes in the test's cgroups, live children of the test,
its fds, the entries under --root, and the shared cgroup registry's
temporaries.
"""
import os
import random
import signal
import subprocess
import threading
import time

from conftest import RUNTIME
from oci_runtime.cgroups.parents import HOST_DIR, REGISTRY

from .helpers import light_bundle
from .test_soak import _snapshot

COUNT = int(os.environ.get("OCI_RUNTIME_KILL_SOAK", "200"))
CALLERS = 2
SEED = int(os.environ.get("OCI_RUNTIME_KILL_SOAK_SEED", str(int(time.time()))))
MAX_DELAY = 0.06  # seconds: every command of a lifecycle takes about this long or less

EXTRAS = (("exec", "{id}", "true"), ("pause", "{id}"), ("resume", "{id}"), ("ps", "{id}"),
          ("update", "--pids-limit", "64", "{id}"), ("events", "--stats", "{id}"), ("state", "{id}"),
          ("list",), ("kill", "--all", "{id}", "0"))


def lifecycle(rng, bundle, container_id):
    """The commands of one lifecycle: most go create, start, one or two extras,
    kill, delete; some are a single foreground `run`."""
    if rng.random() < 0.15:
        return [("run", "--bundle", str(bundle), container_id)]
    extras = [tuple(arg.format(id=container_id) for arg in rng.choice(EXTRAS)) for _ in range(rng.randint(1, 2))]
    return ([("create", "--bundle", str(bundle), container_id), ("start", container_id)] + extras
            + [("kill", container_id, "KILL"), ("delete", container_id)])


def call(rt, args, kill_after=None):
    """Run one command; with ``kill_after`` SIGKILL it then if it still runs.  Its
    stdio is /dev/null: a container inherits create's and run's."""
    with open(os.devnull, "r+b") as null:
        proc = subprocess.Popen([RUNTIME, "--root", rt.root, *args], stdin=null, stdout=null, stderr=null)
        if kill_after is not None:
            time.sleep(kill_after)
            try:
                proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        return proc.wait(timeout=60)


def test_lifecycles_killed_at_random_moments_leave_nothing(rt):
    print(f"\nkill soak: {COUNT} lifecycles, {CALLERS} callers, seed {SEED}")
    bundle_of = {n: light_bundle(rt, f"k{n}", args=("sleep", "30")) for n in range(CALLERS)}
    os.makedirs(rt.root, exist_ok=True)
    before = _snapshot(rt)
    failures = []
    killed = []

    def caller(n):
        rng = random.Random(SEED * 100 + n)
        for i in range(n, COUNT, CALLERS):
            container_id = f"ks-{rt.tag}-{i}"
            commands = lifecycle(rng, bundle_of[n], container_id)
            victim = rng.randrange(len(commands))
            for index, args in enumerate(commands):
                if index == victim:
                    call(rt, args, kill_after=rng.uniform(0, MAX_DELAY))
                    killed.append(args[0])
                else:
                    call(rt, args)
            status = call(rt, ("delete", "--force", container_id))
            if status != 0:
                failures.append(f"delete --force {container_id} exited {status} (victim: {commands[victim]})")

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(CALLERS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    print(f"kill soak: {elapsed:.0f}s; killed: " + ", ".join(f"{name} {killed.count(name)}"
                                                            for name in sorted(set(killed))))
    assert not failures, failures[:10]
    deadline = time.monotonic() + 10  # a killed exec's last child may still be on its way out
    while time.monotonic() < deadline and _snapshot(rt) != before:
        time.sleep(0.2)
    after = _snapshot(rt)
    for key in before:
        assert after[key] == before[key], f"{key} changed: before {before[key]!r} after {after[key]!r}"
    left = [n for n in os.listdir(HOST_DIR) if n.startswith(REGISTRY + ".tmp")] if os.path.isdir(HOST_DIR) else []
    assert not left, left
