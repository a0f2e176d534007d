"""The public Python API (oci_runtime.api, docs/api.md), driven in this process.

Each test uses the `rt` fixture's --root, bundles and cgroup parent, so the
fixture's teardown (the CLI's `delete --force` of every id, then the check that
nothing is left: state dirs, cgroups, mounts, processes, children, fds) also
proves the API and the CLI share one state store.
"""
import json
import os
import subprocess
import sys
import threading

import pytest

from conftest import RUNTIME, wait_for
from oci_runtime.api import (ConfigError, ContainerExists, ContainerNotFound, ContainerNotRunning,
                             ContainerStateError, Event, OCIError, Runtime, State)


@pytest.fixture
def api(rt):
    return Runtime(root=rt.root)


def test_the_lifecycle_through_the_api_is_the_clis(rt, api):
    bundle = rt.bundle(args=("sleep", "30"))
    container_id = rt.new_id()
    created = api.create(container_id, str(bundle))
    assert isinstance(created, State) and created.status == "created" and created.pid > 0
    rt.pids.add(created.pid)
    # the CLI sees the same container, byte for byte the same document
    assert rt.state(container_id) == api.state(container_id).to_dict()
    api.start(container_id)
    assert api.state(container_id).status == "running"
    assert created.pid in api.pids(container_id)
    assert [s.id for s in api.list()] == [container_id]
    api.pause(container_id)
    assert api.state(container_id).status == "paused"
    api.resume(container_id)
    api.kill(container_id, "KILL")
    wait_for(lambda: api.state(container_id).status == "stopped")
    assert api.state(container_id).pid == 0
    api.delete(container_id)
    assert api.list() == []
    with pytest.raises(ContainerNotFound, match="container does not exist"):
        api.state(container_id)


def test_run_returns_the_exit_status_and_what_the_container_saw(rt, api, tmp_path):
    out = tmp_path / "out"
    def edit(config):
        config["hostname"] = "from-the-api"
        config["mounts"].append({"destination": "/out", "type": "bind", "source": str(out), "options": ["bind"]})

    bundle = rt.bundle(args=("sh", "-c", "hostname > /out; exit 7"), edit=edit)
    out.write_text("")
    assert api.run(rt.new_id(), str(bundle)) == 7
    assert out.read_text() == "from-the-api\n"
    assert api.list() == []  # run deletes unless keep=True


def test_run_from_a_thread_installs_no_signal_handler(rt, api):
    """signal.signal() only works in the main thread: the API must not call it."""
    bundle = rt.bundle(args=("sh", "-c", "exit 5"))
    result = {}
    thread = threading.Thread(target=lambda: result.update(status=api.run(rt.new_id(), str(bundle))))
    thread.start()
    thread.join(30)
    assert result == {"status": 5}


def test_exec_runs_in_the_container_and_returns_its_status(rt, api, tmp_path):
    out = tmp_path / "out"
    out.write_text("")
    bundle = rt.bundle(args=("sleep", "30"), edit=lambda c: c["mounts"].append(
        {"destination": "/out", "type": "bind", "source": str(out), "options": ["bind"]}))
    container_id = rt.create(bundle)
    api.start(container_id)
    status = api.exec(container_id, ["sh", "-c", "echo $GREETING $(pwd) > /out; exit 4"],
                      env=("GREETING=hello",), cwd="/tmp")
    assert status == 4
    assert out.read_text() == "hello /tmp\n"
    process = dict(rt.read_config(bundle)["process"], args=["sh", "-c", "exit 9"])
    assert api.exec(container_id, process=process) == 9
    with pytest.raises(OCIError, match="executable file not found|no such file"):
        api.exec(container_id, ["/no/such/program"])


def test_typed_errors(rt, api):
    bundle = rt.bundle(args=("sleep", "30"))
    container_id = rt.create(bundle)
    with pytest.raises(ContainerExists, match="already exists"):
        api.create(container_id, str(bundle))
    with pytest.raises(ContainerNotRunning):
        api.pause(container_id)
    api.start(container_id)
    with pytest.raises(ContainerStateError, match="not stopped"):
        api.delete(container_id)
    with pytest.raises(ContainerNotFound):
        api.kill("no-such-container", 9)
    with pytest.raises(OCIError, match='unknown signal "NOPE"'):
        api.kill(container_id, "NOPE")
    api.delete(container_id, force=True)
    api.delete(container_id, force=True)  # a missing container is no error with force
    bad = rt.bundle(edit=lambda c: c["process"].update(args=[]))
    with pytest.raises(ConfigError) as caught:
        api.create(rt.new_id(), str(bad))
    assert caught.value.json_path == "process.args"


def test_the_api_reaps_the_init_it_created(rt, api):
    """A long-lived caller is the init's parent: delete collects it, no zombie stays."""
    bundle = rt.bundle(args=("sleep", "30"))
    container_id = rt.new_id()
    pid = api.create(container_id, str(bundle)).pid
    rt.pids.add(pid)
    api.kill(container_id, 9)
    api.delete(container_id, force=True)
    assert not os.path.exists(f"/proc/{pid}")


def test_the_example_runs_a_bundle_and_prints_its_output(rt, tmp_path):
    bundle = rt.bundle(args=("sh", "-c", "echo hello from the container; exit 3"))
    root = tmp_path / "example-root"
    result = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "..", "examples", "embed.py"),
                             str(bundle), "--root", str(root)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from the container\nexit status 3\n"
    assert os.listdir(root) == []


def test_state_document_keys_match_the_cli(rt, api):
    container_id = rt.create(rt.bundle(args=("sleep", "30")))
    cli = json.loads(subprocess.run([RUNTIME, "--root", rt.root, "state", container_id],
                                    capture_output=True, text=True, check=True).stdout)
    assert list(api.state(container_id).to_dict()) == list(cli)


def test_update_changes_the_limits_the_container_sees(rt, api):
    bundle = rt.bundle(args=("sleep", "60"), edit=lambda c: c["linux"]["resources"].update(
        memory={"limit": 64 << 20}, pids={"limit": 20}))
    container_id = rt.create(bundle)
    api.start(container_id)
    api.update(container_id, {"memory": {"limit": 128 << 20}, "pids": {"limit": 30}})
    api.update(container_id, {"pids": {"limit": 40}})  # merged into the limits already set
    out = subprocess.run([RUNTIME, "--root", rt.root, "exec", container_id, "cat",
                          "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max"],
                         capture_output=True, text=True, timeout=30)
    if os.path.isdir("/sys/fs/cgroup/memory"):  # v1 layout, as the container sees it through its cgroup ns
        assert out.stdout.split() == [str(128 << 20), "40"], out.stderr
    stats = api.stats(container_id)
    assert stats["memory"]["usage"]["limit"] == 128 << 20 and stats["pids"]["limit"] == 40
    with pytest.raises(ConfigError) as caught:
        api.update(container_id, {"memory": {"limit": "64m"}})
    assert caught.value.json_path == "linux.resources.memory.limit"
    assert api.stats(container_id)["memory"]["usage"]["limit"] == 128 << 20  # nothing half-applied


def test_events_stream_stats_and_an_oom_kill(rt, api):
    hog = "sleep 0.5; x=$(head -c 200000000 /dev/zero | tr '\\0' a); sleep 60"
    bundle = rt.bundle(args=("sh", "-c", f"({hog}) & sleep 60"),
                       edit=lambda c: c["linux"]["resources"].update(memory={"limit": 32 << 20}))
    container_id = rt.create(bundle)
    api.start(container_id)
    events = api.events(container_id, interval=0.1)
    seen = []
    for event in events:
        assert event.id == container_id
        seen.append(event.type)
        if event.type == "stats":
            assert event.to_dict()["data"]["memory"]["usage"]["limit"] == 32 << 20
        if event.type == "oom" or len(seen) > 300:
            break
    events.close()
    assert "stats" in seen and "oom" in seen, seen
    assert Event("oom", container_id).to_dict() == {"type": "oom", "id": container_id}


def test_events_of_a_missing_or_stopped_container_raise_at_once(rt, api):
    with pytest.raises(ContainerNotFound):
        api.events("no-such-container")
    container_id = rt.create(rt.bundle(args=("true",)))
    api.start(container_id)
    wait_for(lambda: api.state(container_id).status == "stopped")
    with pytest.raises(ContainerNotRunning):
        api.events(container_id)
    with pytest.raises(ContainerNotRunning):
        api.stats(container_id)
    with pytest.raises(OCIError, match="greater than 0"):
        api.events(container_id, interval=0)
