"""Lifecycle hooks: each at its point, in its namespace, with the state on stdin."""
import json
import os
import time

import pytest

from conftest import wait_for

RECORDER = """#!/bin/sh
# Records what a hook saw: its args, env, mount namespace and stdin (the state).
out="$1"; kind="$2"
echo "$kind" >> "$out/order"
{
  echo "args: $*"
  echo "mntns: $(readlink /proc/self/ns/mnt)"
  echo "pidns: $(readlink /proc/self/ns/pid)"
  echo "env: $(env | sort | tr '\\n' ' ')"
  echo "state: $(cat)"
} > "$out/$kind"
"""


def read_record(path):
    fields = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(": ")
        fields[key] = value
    fields["state"] = json.loads(fields["state"])
    return fields


@pytest.fixture
def recorder(tmp_path):
    path = tmp_path / "record-hook"
    path.write_text(RECORDER)
    path.chmod(0o755)
    out = tmp_path / "hooks-out"
    out.mkdir()
    return path, out


def host_hook(recorder, kind, **extra):
    path, out = recorder
    return {"path": str(path), "args": ["record-hook", str(out), kind], "env": ["FOO=bar"], **extra}


def test_every_hook_runs_at_its_point_and_in_its_namespace(rt, recorder):
    _, out = recorder
    host_kinds = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")

    def edit(config):
        config["hooks"] = {kind: [host_hook(recorder, kind)] for kind in host_kinds}
        # startContainer runs inside the container: its path is the container's sh.
        config["hooks"]["startContainer"] = [{
            "path": "/bin/sh",
            "args": ["sh", "-c", 'readlink /proc/self/ns/mnt > /startContainer; cat >> /startContainer']}]
    bundle = rt.bundle(["sleep", "60"], edit=edit)
    container_id = rt.create(bundle)
    pid = rt.state(container_id)["pid"]
    container_mntns = os.readlink(f"/proc/{pid}/ns/mnt")
    host_mntns = os.readlink("/proc/self/ns/mnt")
    host_pidns = os.readlink("/proc/self/ns/pid")
    assert os.readlink(f"/proc/{pid}/ns/pid") != host_pidns

    assert (out / "order").read_text().split() == ["prestart", "createRuntime", "createContainer"]
    for kind in ("prestart", "createRuntime"):
        record = read_record(out / kind)
        assert record["mntns"] == host_mntns, kind
        # create forked the init into a new pid namespace; its own children stay on the host
        assert record["pidns"] == host_pidns, kind
        assert record["state"]["id"] == container_id and record["state"]["pid"] == pid
        assert record["state"]["status"] == "created"  # crun's and runtime-tools' (runc 1.1: "creating")
        assert record["state"]["bundle"] == str(bundle)
        assert record["args"] == f"{out} {kind}"
        assert record["env"].split() == ["FOO=bar", "PWD=/"]  # only the hook's env (sh adds PWD)
    assert read_record(out / "createContainer")["mntns"] == container_mntns
    assert read_record(out / "createContainer")["state"]["status"] == "creating"  # as runc
    assert not (bundle / "rootfs" / "startContainer").exists()

    rt.cmd("start", container_id, check=True)
    assert wait_for(lambda: (bundle / "rootfs" / "startContainer").exists()
                    and "}" in (bundle / "rootfs" / "startContainer").read_text())
    ns_line, state_line = (bundle / "rootfs" / "startContainer").read_text().split("\n", 1)
    assert ns_line == container_mntns
    assert json.loads(state_line)["pid"] == pid
    poststart = read_record(out / "poststart")
    assert poststart["state"]["status"] == "running" and poststart["mntns"] == host_mntns

    rt.cmd("delete", "--force", container_id, check=True)
    poststop = read_record(out / "poststop")
    assert poststop["state"]["status"] == "stopped" and poststop["state"]["id"] == container_id
    assert (out / "order").read_text().split()[-2:] == ["poststart", "poststop"]


def failing_hook(tmp_path, script):
    path = tmp_path / "failing-hook"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return {"path": str(path)}


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_time_hook_fails_create_cleanly(rt, tmp_path, kind):
    hook = failing_hook(tmp_path, "echo boom >&2; exit 3")
    bundle = rt.bundle(["true"], edit=lambda c: c.update(hooks={kind: [hook]}))
    result = rt.cmd("create", "-b", str(bundle), rt.new_id())
    assert result.returncode == 1
    assert f"{kind} hook #0" in result.stderr
    assert "exit status 3" in result.stderr and "boom" in result.stderr
    assert os.listdir(rt.root) == []


def test_hook_timeout(rt, tmp_path):
    hook = dict(failing_hook(tmp_path, "sleep 30"), timeout=1)
    bundle = rt.bundle(["true"], edit=lambda c: c.update(hooks={"createRuntime": [hook]}))
    started = time.monotonic()
    result = rt.cmd("create", "-b", str(bundle), rt.new_id())
    assert result.returncode == 1 and "timed out after 1s" in result.stderr
    assert time.monotonic() - started < 10


def test_failing_poststart_is_an_error_and_stops_the_container(rt, tmp_path):
    hook = failing_hook(tmp_path, "exit 1")
    bundle = rt.bundle(["sleep", "60"], edit=lambda c: c.update(hooks={"poststart": [hook]}))
    container_id = rt.create(bundle)
    started = rt.cmd("start", container_id)
    assert started.returncode == 1 and "poststart hook #0" in started.stderr
    assert wait_for(lambda: rt.state(container_id)["status"] == "stopped")


def test_failing_poststop_only_warns(rt, tmp_path):
    hook = failing_hook(tmp_path, "exit 1")
    bundle = rt.bundle(["sleep", "60"], edit=lambda c: c.update(hooks={"poststop": [hook]}))
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    deleted = rt.cmd("delete", "--force", container_id)
    assert deleted.returncode == 0 and "poststop hook #0" in deleted.stderr
    assert not os.path.exists(rt.state_dir(container_id))


def test_failing_start_container_hook_stops_the_container(rt):
    bundle = rt.bundle(["sh", "-c", "touch /user-process-ran"], edit=lambda c: c.update(
        hooks={"startContainer": [{"path": "/bin/false", "args": ["false"]}]}))
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    assert wait_for(lambda: rt.state(container_id)["status"] == "stopped")
    assert not (bundle / "rootfs" / "user-process-ran").exists()


@pytest.mark.parametrize("problem", ["missing", "not executable"])
def test_a_hook_that_cannot_be_executed_fails_create_with_the_reason(rt, tmp_path, problem):
    """The exec of a hook happens in a forked child (hooks.py runs hooks without
    subprocess): its failure comes back as the exec's own error, and create
    leaves nothing."""
    path = tmp_path / "hook.sh"
    if problem == "not executable":
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o644)
    bundle = rt.bundle(["true"], edit=lambda c: c.update(hooks={"prestart": [{"path": str(path)}]}))
    result = rt.cmd("create", "-b", str(bundle), rt.new_id())
    assert result.returncode == 1
    reason = "No such file or directory" if problem == "missing" else "Permission denied"
    assert f"prestart hook #0 ({path}): {reason}" in result.stderr, result.stderr
    assert os.listdir(rt.root) == []


def test_a_large_state_reaches_a_hook_that_reads_it_and_not_one_that_ignores_it(rt, tmp_path):
    """The state on stdin is written while the hook's output is read, without
    blocking: a state larger than a pipe's buffer (a 200 KB annotation) reaches a
    hook that reads it all, and a hook that never reads its stdin still runs."""
    counted = tmp_path / "counted"
    reader = failing_hook(tmp_path, f"wc -c > {counted}")
    ignorer = {"path": "/bin/true"}
    bundle = rt.bundle(["true"], edit=lambda c: c.update(annotations={"big": "x" * 200_000},
                                                          hooks={"prestart": [ignorer, reader]}))
    cid = rt.create(bundle)
    assert int(counted.read_text()) > 200_000
    rt.cmd("delete", "--force", cid, check=True)


def test_a_timed_out_hook_is_killed_with_what_it_started(rt, tmp_path):
    pidfile = tmp_path / "child.pid"
    hook = dict(failing_hook(tmp_path, f"sleep 30 & echo $! > {pidfile}; wait"), timeout=1)
    bundle = rt.bundle(["true"], edit=lambda c: c.update(hooks={"createRuntime": [hook]}))
    result = rt.cmd("create", "-b", str(bundle), rt.new_id())
    assert result.returncode == 1 and "timed out after 1s" in result.stderr
    child = int(pidfile.read_text())
    assert wait_for(lambda: not os.path.exists(f"/proc/{child}") or
                    open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"), \
        "the hook's own child outlived the timeout"
