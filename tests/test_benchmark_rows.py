"""benchmarks/: the per-call timer the engines are given (calltimer.c), and one short
run of the whole benchmark (lifecycle.py) that must write every row it promises:
the floor, the short calls' distance from it, the engine rows with their calls,
the scale rows and the concurrent runs with no error and nothing left."""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import REPO
from enginekit import HAVE_CONTAINERD, HAVE_DOCKER, HAVE_PODMAN

RUNC = shutil.which("runc")


def _calltimer(tmp_path, target):
    binary = tmp_path / "calltimer"
    log = tmp_path / "calls.log"
    subprocess.run(["cc", "-O2", f'-DTARGET="{target}"', f'-DLOG="{log}"', "-o", str(binary),
                    os.path.join(REPO, "benchmarks", "calltimer.c")], check=True)
    return str(binary), log


def test_the_call_timer_logs_each_call_and_exits_as_the_runtime_did(tmp_path):
    runtime = tmp_path / "fake-runtime"
    runtime.write_text("#!/bin/sh\n"
                       "echo \"$@\" >> \"$(dirname \"$0\")/argv\"\n"
                       "case \"$*\" in *kill-me*) kill -TERM $$ ;; *fail*) exit 3 ;; esac\n"
                       "cat\n")  # stdin passes through
    runtime.chmod(0o755)
    timer, log = _calltimer(tmp_path, runtime)
    done = subprocess.run([timer, "--root", "/r", "--log", "/l", "--log-format=json", "state", "x"],
                          input="from stdin", capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == "from stdin"
    failed = subprocess.run([timer, "--root", "/r", "delete", "--force", "fail"], stdin=subprocess.DEVNULL)
    assert failed.returncode == 3
    assert subprocess.run([timer, "kill-me"], stdin=subprocess.DEVNULL).returncode == -signal.SIGTERM
    lines = [line.rsplit(" ", 2) for line in log.read_text().splitlines()]
    assert [(call, code) for call, _ms, code in lines] == [("state", "0"), ("delete --force", "3"),
                                                          ("kill-me", "143")]
    assert all(float(ms) > 0 for _call, ms, _code in lines)
    assert (tmp_path / "argv").read_text().splitlines()[0] == "--root /r --log /l --log-format=json state x"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: runs real containers")
@pytest.mark.skipif(RUNC is None, reason="runc is not installed: nothing to compare against")
def test_a_short_benchmark_run_writes_every_row(tmp_path, busybox_template):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, os.path.join(REPO, "benchmarks", "lifecycle.py"), "--iterations", "2",
                           "--rounds", "1", "--per-caller", "1", "--engine-iterations", "1", "--calls", "1",
                           "--scale", "3", "--crun", "", "--json", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    rows = set(result["summary"])
    expected = {"floor", "create", "state", "start", "kill", "delete", "delete missing", "run", "run seccomp", "exec",
                "create with 1", "state with 1", "delete with 1", "create with 3", "state with 3",
                "delete with 3", "list with 3", "100 runs from 8 callers"}
    if HAVE_CONTAINERD and HAVE_PODMAN:
        expected |= {"ctr run --rm", "ctr run -d", "ctr task exec", "ctr run -d + exec"}
    if HAVE_PODMAN:
        expected.add("podman run --rm")
    if HAVE_DOCKER:
        expected.add("docker run --rm")
    assert expected <= rows, expected - rows
    assert set(result["summary"]["floor"]) == {"oci-runtime"}  # the floor is the launcher's, not runc's
    assert {"state over the floor", "delete missing over the floor"} <= set(result["targets"])
    for name, concurrent in result["concurrency"].items():
        assert concurrent["errors"] == [] and concurrent["left"] == [], (name, concurrent)
    if HAVE_CONTAINERD and HAVE_PODMAN:
        for name in ("oci-runtime", "runc"):
            calls = result["per_call"][name]["ctr run --rm"]
            assert {"create", "start", "delete"} <= set(calls), calls
    assert os.path.exists(str(out)[:-len(".json")] + ".svg")
    assert "over the floor" in done.stdout and "per call" in done.stdout
