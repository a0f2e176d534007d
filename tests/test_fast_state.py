"""`oci-runtime state` is answered in C by the launcher (cffi_build/fast_state.c) in
its common form; the Python implementation stays the reference.  Every case
compares the two byte for byte (stdout, stderr, exit status).

To prove the C path really ran, it is run with an 8 MiB address-space limit,
in which a Python interpreter cannot even load its libraries."""
import json
import os
import resource
import subprocess
import sys

import pytest

from conftest import RUNTIME

PYTHON_CLI = [sys.executable, "-m", "oci_runtime"]
NO_PYTHON = 8 << 20


def _limit_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (NO_PYTHON, NO_PYTHON))


def _run(argv, fast_only):
    proc = subprocess.run(argv, capture_output=True, text=True,
                          preexec_fn=_limit_address_space if fast_only else None)
    return proc.returncode, proc.stdout, proc.stderr


def assert_same(args, fast_only=True):
    """The launcher's answer (only the C path when ``fast_only``) equals Python's.
    (A traceback, from a document Python itself cannot handle, is compared by its
    last line: the launcher's entry point adds frames.)"""
    reference = _run(PYTHON_CLI + list(args), False)
    answer = _run([RUNTIME, *args], fast_only)
    if "Traceback" in reference[2]:
        answer, reference = ((a[0], a[1], a[2].splitlines()[-1]) for a in (answer, reference))
    assert answer == reference
    return reference


def _own_start_time():
    with open(f"/proc/{os.getpid()}/stat", "rb") as f:
        return int(f.read().rsplit(b")", 1)[1].split()[19])


def _fake(root, cid, text=None, **fields):
    """A state dir as create leaves it, for this test process (alive: "running")."""
    directory = os.path.join(root, cid)
    os.makedirs(directory)
    open(os.path.join(directory, "lock"), "w").close()
    doc = {"ociVersion": "1.3.0", "id": cid, "pid": os.getpid(), "status": "created",
           "bundle": "/b", "rootfs": "/b/rootfs", "created": "2026-11-26T00:00:00.000000000Z",
           "owner": "", "annotations": {},
           "runtime": {"init_start_time": _own_start_time(), "cgroups": {}}}
    doc.update(fields)
    with open(os.path.join(directory, "state.json"), "w") as f:
        f.write(text if text is not None else json.dumps(doc))
    return cid


def test_real_container_in_every_status(rt):
    bundle = rt.bundle(["sleep", "1000"])
    cid = rt.create(bundle)
    root = ["--root", rt.root]
    assert json.loads(assert_same(root + ["state", cid])[1])["status"] == "created"
    rt.cmd("start", cid, check=True)
    assert json.loads(assert_same(root + ["state", cid])[1])["status"] == "running"
    rt.cmd("pause", cid, check=True)
    assert json.loads(assert_same(root + ["state", cid])[1])["status"] == "paused"
    rt.cmd("resume", cid, check=True)
    rt.cmd("kill", cid, "KILL", check=True)
    for _ in range(200):
        status = json.loads(assert_same(root + ["state", cid])[1])["status"]
        if status == "stopped":
            break
    assert status == "stopped"


@pytest.mark.parametrize("flags", [[], ["--log-format", "json"], ["--log-format=text", "--debug"],
                                   ["-log", "/dev/null", "--systemd-cgroup"], ["--rootless", "auto"]])
def test_global_flag_spellings(tmp_path, flags):
    cid = _fake(str(tmp_path), "x1")
    assert_same(["--root", str(tmp_path), *flags, "state", cid])
    assert_same([f"--root={tmp_path}", *flags, "state", cid])
    assert_same(["-root", str(tmp_path), *flags, "state", cid])


@pytest.mark.parametrize("annotations", [
    {"plain": "v", "unicode": "é ☃ 😀", "ctl": "a\nb\t\"q\"\\\x01\x7f"},
    {"nested": {"a": [1, -2, 0, {"b": None, "c": True, "d": False}], "e": [], "f": {}}},
    {"big": 12345678901234567890123, "lone": "\ud800"},
])
def test_canonical_documents_take_the_c_path(tmp_path, annotations):
    cid = _fake(str(tmp_path), "a1", annotations=annotations)
    assert_same(["--root", str(tmp_path), "state", cid])
    stopped = _fake(str(tmp_path), "a2", annotations=annotations, runtime={"init_start_time": 1})
    assert json.loads(assert_same(["--root", str(tmp_path), "state", stopped])[1])["pid"] == 0


@pytest.mark.parametrize("text", [
    '{"id": "u", "pid": 0, "status": "x", "annotations": {"f": 1.5}, "runtime": {}}',
    '{"id": "u", "pid": 0, "status": "x", "a": "\\/", "runtime": {}}',
    '{"id": "u", "pid": 0, "status": "x", "a": "\\u00E9", "runtime": {}}',
    '{"id": "u", "pid": 0, "status": "x", "a": "\\u0041", "runtime": {}}',
    '{"id": "u", "pid": 0, "pid": 1, "status": "x", "runtime": {}}',
    '{"id": "u", "pid": -0, "status": "x", "runtime": {}}',
    '{"id": "u", "pid": 0, "status": "x", "a": 1e3, "runtime": {}}',
    '{"id": "u", "pid": 0, "status": "x"}',
    '{"id": "u", "pid": null, "status": "x", "runtime": {}}',
    '{"id": "u", "pid": 0, "status": "x", "runtime": {"init_start_time": "1"}}',
    '{"id": "u", "pid": 0, "status": "x", "runtime": {}} trailing',
    '{"id": "u", "pid": 0, "status": "x", "runtime": {"cgroups": null}}',
    '["not", "an", "object"]',
    '',
    '{"id": "u", "pid": 0, "status": "x", "a": "caf\xc3\xa9", "runtime": {}}',
])
def test_unusual_documents_answer_as_python(tmp_path, text):
    cid = _fake(str(tmp_path), "u1", text=text)
    assert_same(["--root", str(tmp_path), "state", cid], fast_only=False)


def test_unusual_command_lines_answer_as_python(tmp_path):
    cid = _fake(str(tmp_path), "c1")
    root = ["--root", str(tmp_path)]
    for args in (root + ["state"], root + ["state", cid, "extra"], root + ["state", "--help"],
                 root + ["state", "nope"], root + ["state", "../x"], root + ["--log-format", "xml", "state", cid],
                 ["--root=", "state", cid], root + ["--debug=true", "state", cid], ["--version"],
                 root + ["state", "--", cid]):
        assert_same(args, fast_only=False)
