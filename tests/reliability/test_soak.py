"""Soak: many full lifecycles (create, start, exec, kill, delete), some in
parallel, then the host must be exactly as before.

CI runs OCI_RUNTIME_SOAK lifecycles (default below) split over
OCI_RUNTIME_SOAK_PARALLEL workers; the long run is by hand, e.g.:

    OCI_RUNTIME_SOAK=5000 flock /tmp/ocirt-suite.lock .venv/bin/pytest tests/reliability/test_soak.py

Compared before and after: the host's mount table (count and lines), every
cgroup directory on the host (except process_api's subtree, which belongs to
the machine), the processes in the test's cgroups and the live children of
this process, this process's open fds, and the entries under --root.
"""
import os
import threading
import time

from conftest import all_cgroups, child_pids, mount_table, open_fds, processes_in_cgroup

from .helpers import light_bundle

COUNT = int(os.environ.get("OCI_RUNTIME_SOAK", "500"))
PARALLEL = int(os.environ.get("OCI_RUNTIME_SOAK_PARALLEL", "3"))


def _snapshot(rt):
    return {
        "mounts": mount_table(),
        "cgroups": all_cgroups(),
        "processes in test cgroups": processes_in_cgroup(rt.cgroup_parent),
        "children": child_pids(),
        "fds": open_fds(),
        "root entries": sorted(os.listdir(rt.root)) if os.path.isdir(rt.root) else [],
    }


def _lifecycle(rt, bundle, container_id):
    steps = (("create", "--bundle", str(bundle), container_id), ("start", container_id),
             ("exec", container_id, "true"), ("kill", container_id, "KILL"),
             ("delete", "--force", container_id))
    for args in steps:
        result = rt.cmd(*args)
        if result.returncode != 0:
            return f"{args[0]} {container_id}: {result.stderr.strip()}"
    return None


def test_soak_lifecycles_leave_the_host_exactly_as_before(rt):
    bundles = [light_bundle(rt, f"w{n}") for n in range(PARALLEL)]
    os.makedirs(rt.root, exist_ok=True)
    before = _snapshot(rt)
    failures = []
    began = time.monotonic()

    def worker(n):
        for i in range(n, COUNT, PARALLEL):
            error = _lifecycle(rt, bundles[n], f"soak-{rt.tag}-{i}")
            if error:
                failures.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    print(f"\nsoak: {COUNT} lifecycles, {PARALLEL} in parallel, {elapsed:.1f}s "
          f"({elapsed / max(COUNT, 1) * 1000:.0f} ms each)")
    assert not failures, failures[:10]
    after = _snapshot(rt)
    for key in before:
        assert after[key] == before[key], f"{key} changed: before {before[key]!r} after {after[key]!r}"
