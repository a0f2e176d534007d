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
