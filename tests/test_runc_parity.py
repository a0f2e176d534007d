"""The CLI contract, checked against runc itself: the same misuse gets the same exit status.

Engines (containerd, podman) act on a runtime's exit status and match a few of runc's
error phrases, so each case runs through both runtimes, on the same bundle, in the same
order, and the statuses must be equal.  The phrases engines match on are checked too.
Skipped where runc is not installed.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import RUNTIME, cgroup_dirs_named

RUNC = shutil.which("runc") or "/usr/sbin/runc"
pytestmark = pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc is not installed")

# (name, argv after --root; "B" is the bundle, "C" the container id, "S" the sleeping one)
STEPS = [
    ("state of a missing container", ["state", "nope"]),
    ("start of a missing container", ["start", "nope"]),
    ("kill of a missing container", ["kill", "nope"]),
    ("delete of a missing container", ["delete", "nope"]),
    ("delete --force of a missing container", ["delete", "--force", "nope"]),
    ("create", ["create", "-b", "B", "S"]),
    ("create with a taken id", ["create", "-b", "B", "S"]),
    ("exec into a created container", ["exec", "S", "true"]),
    ("kill 0 of a created container", ["kill", "S", "0"]),
    ("start", ["start", "S"]),
    ("start again", ["start", "S"]),
    ("exec's own exit status", ["exec", "S", "sh", "-c", "exit 7"]),
    ("exec of a missing program", ["exec", "S", "/nonexistent"]),
    ("kill with an unknown signal", ["kill", "S", "SIGFOO"]),
    ("delete of a running container", ["delete", "S"]),
    ("pause", ["pause", "S"]),
    ("pause again", ["pause", "S"]),
    ("exec into a paused container", ["exec", "S", "true"]),
    ("resume", ["resume", "S"]),
    ("resume again", ["resume", "S"]),
    ("kill", ["kill", "S", "KILL"]),
    ("kill of a stopped container", ["kill", "S", "KILL"]),
    ("exec into a stopped container", ["exec", "S", "true"]),
    ("delete", ["delete", "S"]),
    ("an invalid id", ["create", "-b", "B", "../x"]),
    ("a missing bundle", ["create", "-b", "/nonexistent-bundle", "C"]),
    ("an unknown flag", ["create", "--frobnicate", "-b", "B", "C"]),
]
PHRASES = {  # what containerd and podman match on
    "state of a missing container": "container does not exist",
    "create with a taken id": "already exists",
    "start again": "cannot start an already running container",
    "delete of a running container": "is not stopped",
    "pause again": "container not running",
    "resume again": "container not paused",
    "kill of a stopped container": "container not running",
    "exec of a missing program": "no such file or directory",
}


def _drive(binary, root, bundle):
    results = {}
    for name, argv in STEPS:
        argv = [{"B": str(bundle), "S": "s1", "C": "c2"}.get(a, a) for a in argv]
        # files, not pipes: a created container inherits create's stdio
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            status = subprocess.run([binary, "--root", root, *argv], stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, timeout=30).returncode
            err.seek(0)
            results[name] = (status, err.read().decode(errors="replace"))
        if name == "kill":
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and _status(binary, root) != "stopped":
                time.sleep(0.02)
    subprocess.run([binary, "--root", root, "delete", "--force", "s1"], capture_output=True)
    return results


def _status(binary, root):
    with tempfile.TemporaryFile() as out:
        subprocess.run([binary, "--root", root, "state", "s1"], stdout=out, stderr=subprocess.DEVNULL)
        out.seek(0)
        try:
            return json.loads(out.read() or b"{}").get("status")
        except ValueError:
            return None


def test_misuse_gets_runcs_exit_status(rt, tmp_path):
    bundle = rt.bundle(["sleep", "100"])
    # runc never removes a parent cgroup it made: it gets its own parent, removed here
    runc_parent = f"{rt.cgroup_parent}-runc"
    runc_bundle = rt.bundle(["sleep", "100"],
                            edit=lambda c: c["linux"].update(cgroupsPath=f"/{runc_parent}/container"))
    try:
        theirs = _drive(RUNC, str(tmp_path / "runc-root"), runc_bundle)
    finally:
        for directory in cgroup_dirs_named(runc_parent):
            os.rmdir(directory)
    ours = _drive(RUNTIME, rt.root, bundle)
    different = {name: (theirs[name][0], ours[name][0]) for name, _ in STEPS if theirs[name][0] != ours[name][0]}
    assert different == {}, f"(runc, oci-runtime) exit status: {different}"
    for name, phrase in PHRASES.items():
        assert phrase in ours[name][1], (name, ours[name][1])


# What a process sees inside, the same for both runtimes.  Left out on purpose: the
# /sys/fs/cgroup mounts (oci-runtime mounts the tmpfs read-only as the config asks,
# runc read-write, and on hybrid hosts oci-runtime also mounts the unified
# hierarchy), stdio (runc's foreground `run` gives the process pipes of its own) and
# ignored signals (runc passes on the ones its caller ignored, e.g. make's signal 32;
# oci-runtime resets every disposition: docs/security.md).
INSIDE = {
    "environment": "env | sort",
    "umask": "umask",
    "/dev": "ls -la /dev | sed 1d | awk '{print $1, $3, $4, $5, $6, $NF}' | sort",
    "capabilities and no_new_privs": "grep -E 'Cap|NoNewPrivs|Seccomp|SigBlk' /proc/self/status",
    "mounts": "cut -d' ' -f5,6,7- /proc/self/mountinfo | sed 's/ [0-9]*:[0-9]* / /' | grep -v '^/sys/fs/cgroup' | sort",
    "rlimits": "cat /proc/self/limits",
    "oom_score_adj": "cat /proc/self/oom_score_adj",
    "ids": "id",
    "writes to read-only places": "touch /sys/x /proc/sys/x / 2>&1; echo 1 > /proc/sysrq-trigger 2>&1; true",
}


def _inside(binary, root, bundle_of, container_prefix):
    seen = {}
    for i, (name, script) in enumerate(INSIDE.items()):
        bundle = bundle_of(["sh", "-c", script])
        with tempfile.TemporaryFile() as out:
            status = subprocess.run([binary, "--root", root, "run", "-b", str(bundle), f"{container_prefix}{i}"],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    timeout=30).returncode
            out.seek(0)
            seen[name] = (status, out.read().decode(errors="replace"))
    return seen


def test_the_inside_of_a_container_is_runcs(rt, tmp_path):
    runc_parent = f"{rt.cgroup_parent}-runc"

    def ours(args):
        return rt.bundle(args, edit=lambda c: c["root"].update(readonly=True))

    def runcs(args):
        return rt.bundle(args, edit=lambda c: (c["root"].update(readonly=True),
                                               c["linux"].update(cgroupsPath=f"/{runc_parent}/{len(c)}")))
    try:
        theirs = _inside(RUNC, str(tmp_path / "runc-root"), runcs, "r")
    finally:
        for top in cgroup_dirs_named(runc_parent):
            for leaf in os.listdir(top):
                if os.path.isdir(os.path.join(top, leaf)):
                    os.rmdir(os.path.join(top, leaf))
            os.rmdir(top)
    mine = _inside(RUNTIME, rt.root, ours, "o")
    for name in INSIDE:
        assert mine[name] == theirs[name], f"{name}:\nrunc: {theirs[name]}\noci-runtime: {mine[name]}"
