"""The systemd cgroup driver (`--systemd-cgroup`, oci_runtime/cgroups/systemd.py) on a
host where systemd is PID 1 on pure cgroup v2: `make test-systemd` runs this module
in the systemd VM (../shared/recipes/systemd-vm); elsewhere it skips.

What is asserted is systemd's view (`systemctl show` of the unit), the cgroup's
files, and what the container reads of its own cgroup; and after delete, that
the unit and its cgroup are gone."""
import json
import os
import subprocess
import time

import pytest

from oci_runtime.cgroups import systemd

pytestmark = pytest.mark.skipif(
    not systemd.running() or not os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
    reason="needs systemd as PID 1 on a pure cgroup v2 host (make test-systemd runs it in the systemd VM)")

SD = ("--systemd-cgroup",)
CGROUP = "/sys/fs/cgroup"


def show(unit, prop):
    return subprocess.run(["systemctl", "show", "-p", prop, "--value", unit],
                          capture_output=True, text=True).stdout.strip()


def unit_gone(unit, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if show(unit, "LoadState") == "not-found":
            return True
        time.sleep(0.1)
    return False


def in_scope(rt, name, **resources):
    """An edit: cgroupsPath system.slice:<test tag>:<name>, and resources; no cgroup
    namespace (as in runc 1.1.5's spec), so the container reads its cgroup's full path."""
    def edit(config):
        config["linux"]["cgroupsPath"] = f"system.slice:{rt.cgroup_parent}:{name}"
        config["linux"].setdefault("resources", {}).update(resources)
        config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] != "cgroup"]
    return edit


def test_a_container_is_a_scope_with_its_limits(rt):
    bundle = rt.bundle(["sleep", "600"], edit=in_scope(rt, "a", memory={"limit": 67108864}, pids={"limit": 100}))
    container_id = rt.new_id()
    rt.cmd("run", "--detach", "--bundle", str(bundle), container_id, global_args=SD, check=True)
    unit = f"{rt.cgroup_parent}-a.scope"
    directory = f"{CGROUP}/system.slice/{unit}"
    assert show(unit, "ActiveState") == "active"
    assert show(unit, "MemoryMax") == "67108864"
    assert show(unit, "TasksMax") == "100"
    assert show(unit, "Delegate") == "yes"
    assert show(unit, "Slice") == "system.slice"
    with open(f"{directory}/memory.max") as f:
        assert f.read().strip() == "67108864"
    with open(f"{directory}/pids.max") as f:
        assert f.read().strip() == "100"
    pid = rt.state(container_id)["pid"]
    with open(f"{directory}/cgroup.procs") as f:
        assert str(pid) in f.read().split()
    seen = rt.cmd("exec", container_id, "cat", "/proc/self/cgroup", check=True).stdout.strip()
    assert seen == f"0::/system.slice/{unit}"
    rt.cmd("kill", container_id, "KILL", check=True)
    deleted = rt.cmd("delete", "--force", container_id, timeout=120)
    assert deleted.returncode == 0, deleted.stderr
    assert unit_gone(unit)
    assert not os.path.exists(directory)


def test_a_foreground_run_passes_its_exit_status_and_leaves_no_unit(rt):
    bundle = rt.bundle(["sh", "-c", "cat /proc/self/cgroup; exit 7"], edit=in_scope(rt, "fg"))
    result = rt.run(bundle, global_args=SD, check=False)
    assert result.returncode == 7, result.stderr
    unit = f"{rt.cgroup_parent}-fg.scope"
    assert result.stdout.strip() == f"0::/system.slice/{unit}"
    assert unit_gone(unit)


def test_nested_slices_and_update_pause_resume(rt):
    slice_name = "ocirttest-nested.slice"
    bundle = rt.bundle(["sleep", "600"], edit=lambda c: c["linux"].__setitem__(
        "cgroupsPath", f"{slice_name}:{rt.cgroup_parent}:n"))
    container_id = rt.new_id()
    rt.cmd("create", "--bundle", str(bundle), container_id, global_args=SD, check=True)
    unit = f"{rt.cgroup_parent}-n.scope"
    directory = f"{CGROUP}/ocirttest.slice/{slice_name}/{unit}"
    assert os.path.isdir(directory), os.listdir(CGROUP)
    assert show(unit, "Slice") == slice_name
    rt.cmd("update", "--memory", "48m", "--pids-limit", "50", container_id, check=True)
    assert show(unit, "MemoryMax") == str(48 << 20)
    assert show(unit, "TasksMax") == "50"
    with open(f"{directory}/memory.max") as f:
        assert f.read().strip() == str(48 << 20)
    rt.cmd("start", container_id, check=True)
    rt.cmd("pause", container_id, check=True)
    assert rt.state(container_id)["status"] == "paused"
    rt.cmd("resume", container_id, check=True)
    assert rt.state(container_id)["status"] == "running"
    rt.cmd("delete", "--force", container_id, check=True)
    assert unit_gone(unit)
    assert not os.path.exists(directory)
    subprocess.run(["systemctl", "stop", slice_name, "ocirttest.slice"], capture_output=True)


@pytest.mark.parametrize("step", ["create:after-cgroup", "create:after-ready"])
def test_a_create_killed_after_the_unit_started_is_undone_by_delete_force(rt, step):
    """Killed right after the scope started, the first process (waiting for the
    parent) exits and systemd drops the empty scope itself; killed once the init
    waits in it, the scope stays active until `delete --force` stops it."""
    from oci_runtime.faults import ENV

    bundle = rt.bundle(["sleep", "600"], edit=in_scope(rt, "k"))
    container_id = rt.new_id()
    result = rt.cmd("create", "--bundle", str(bundle), container_id, global_args=SD,
                    env=dict(os.environ, **{ENV: f"{step}=kill"}))
    assert result.returncode == -9, result.stderr
    unit = f"{rt.cgroup_parent}-k.scope"
    if step == "create:after-ready":
        assert show(unit, "ActiveState") == "active"
    deleted = rt.cmd("delete", "--force", container_id, timeout=120)
    assert deleted.returncode == 0, deleted.stderr
    assert unit_gone(unit)
    assert not os.listdir(rt.root)


def test_a_failed_create_stops_its_unit(rt):
    """The scope starts with the first process in it, then create fails inside the
    container (no such executable): create's undo stops the unit."""
    bundle = rt.bundle(["/no/such/program"], edit=in_scope(rt, "bad"))
    container_id = rt.new_id()
    result = rt.cmd("create", "--bundle", str(bundle), container_id, global_args=SD)
    assert result.returncode == 1 and "/no/such/program" in result.stderr, result.stderr
    assert unit_gone(f"{rt.cgroup_parent}-bad.scope")
    assert not os.listdir(rt.root)


def test_a_malformed_cgroups_path_is_refused_before_anything(rt):
    bundle = rt.bundle(["true"], edit=lambda c: c["linux"].__setitem__("cgroupsPath", "/not/systemd"))
    result = rt.cmd("run", "--bundle", str(bundle), rt.new_id(), global_args=SD)
    assert result.returncode == 1
    assert 'expected cgroupsPath to be of format "slice:prefix:name"' in result.stderr, result.stderr
    assert not os.listdir(rt.root)


def test_state_and_features(rt):
    out = rt.cmd("features", check=True).stdout
    assert json.loads(out)["linux"]["cgroup"]["systemd"] is True


def test_without_the_system_bus_systemds_private_socket_is_used(rt):
    """No dbus-daemon (here: the system bus address points nowhere): as root, the
    driver talks to systemd's private socket, as runc does."""
    bundle = rt.bundle(["sh", "-c", "cat /proc/self/cgroup"], edit=in_scope(rt, "private"))
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={rt.tmp}/no-bus-here")
    result = rt.run(bundle, global_args=SD, check=False, env=env)
    assert result.returncode == 0, result.stderr
    unit = f"{rt.cgroup_parent}-private.scope"
    assert result.stdout.strip() == f"0::/system.slice/{unit}"
    assert unit_gone(unit)


def test_property_annotations_reach_the_unit(rt):
    def edit(config):
        in_scope(rt, "props")(config)
        config["annotations"] = {"org.systemd.property.TimeoutStopUSec": "uint64 123456789",
                                 "org.systemd.property.CollectMode": "'inactive-or-failed'"}
    bundle = rt.bundle(["sleep", "600"], edit=edit)
    container_id = rt.new_id()
    rt.cmd("create", "--bundle", str(bundle), container_id, global_args=SD, check=True)
    unit = f"{rt.cgroup_parent}-props.scope"
    assert show(unit, "TimeoutStopUSec") == "2min 3.456789s"
    assert show(unit, "CollectMode") == "inactive-or-failed"
    rt.cmd("delete", "--force", container_id, check=True)
    assert unit_gone(unit)


RUNC = "/usr/sbin/runc"
COMPARED = ("ActiveState", "Slice", "Delegate", "MemoryMax", "TasksMax", "CPUQuotaPerSecUSec", "CPUWeight",
            "MemoryAccounting", "TasksAccounting", "DefaultDependencies")


@pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="runc is not installed: no reference to compare with")
def test_the_scope_matches_the_one_runc_makes(rt):
    """The same bundle under runc --systemd-cgroup and under oci-runtime: the units'
    properties that carry the config must be the same."""
    limits = dict(memory={"limit": 67108864}, pids={"limit": 100}, cpu={"quota": 50000, "period": 100000,
                                                                        "shares": 512})
    seen = {}
    for name, runtime in (("ours", None), ("runc", RUNC)):
        bundle = rt.bundle(["sleep", "600"], name=f"bundle-{name}", edit=in_scope(rt, name, **limits))
        container_id = rt.new_id()
        root = str(rt.tmp / f"root-{name}")
        argv = [runtime or rt.argv()[0], "--root", root, "--systemd-cgroup"]
        with open(rt.tmp / f"stderr-{name}", "w+") as err:  # a file: the container inherits run -d's stdio
            started = subprocess.run(argv + ["run", "-d", "--bundle", str(bundle), container_id],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, timeout=120)
            err.seek(0)
            assert started.returncode == 0, err.read()
        unit = f"{rt.cgroup_parent}-{name}.scope"
        try:
            seen[name] = {prop: show(unit, prop) for prop in COMPARED}
        finally:
            subprocess.run(argv + ["delete", "--force", container_id], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        assert unit_gone(unit)
    assert seen["ours"] == seen["runc"]
