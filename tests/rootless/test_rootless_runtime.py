"""oci-runtime run by an ordinary user (rootless.py, process/id_maps.py): the
lifecycle, what degrades without a cgroup, limits in a delegated cgroup, and
user namespaces wider than the user's own id (newuidmap/newgidmap).

Each test reads back what the container saw and what the host kept; the
fixture (conftest.py) checks that nothing of the test is left."""
import json
import os
import time

from conftest import CGROUP_ROOT, RUNTIME, wait_for
from rootless.conftest import RANGE, subordinate_range

PURE_V2 = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def _clean(result):
    """No Python in what a user reads."""
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "[Errno" not in text, text


def _host_uid(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("Uid:")).split()[1])


def _stopped(rl, container_id):
    return lambda: rl.state(container_id)["status"] == "stopped"


def test_run_maps_the_caller_to_root_and_keeps_state_under_xdg_runtime_dir(rl):
    bundle = rl.bundle(["sh", "-c", "id -u; cat /proc/self/uid_map; grep CapEff /proc/self/status; exit 3"])
    result = rl.cmd("run", "--bundle", bundle, rl.new_id())
    assert result.returncode == 3, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0] == "0"
    assert lines[1].split() == ["0", str(rl.user.uid), "1"]
    assert lines[2].split() == ["CapEff:", "0000000020000420"]  # the spec's three, in the user namespace
    assert os.path.isdir(rl.root), "the default --root of a rootless user is $XDG_RUNTIME_DIR/oci-runtime"
    assert os.stat(rl.root).st_uid == rl.user.uid and os.stat(rl.root).st_mode & 0o777 == 0o700


def test_detached_container_state_exec_kill_delete(rl):
    bundle = rl.bundle(["sleep", "100"])
    container_id = rl.new_id()
    rl.cmd("run", "-d", "--bundle", bundle, container_id, check=True)
    state = rl.state(container_id)
    assert state["status"] == "running"
    assert os.path.exists(os.path.join(rl.root, container_id, "state.json"))
    assert _host_uid(state["pid"]) == rl.user.uid  # the container's root is the user on the host
    result = rl.cmd("exec", container_id, "sh", "-c", "id -u; cat /proc/1/cmdline")
    assert result.returncode == 0 and result.stdout.split("\n")[0] == "0", result.stderr
    assert result.stdout.split("\n")[1].startswith("sleep")
    import shlex

    tty = rl.run_as(["script", "-qec", shlex.join([RUNTIME, "exec", "-t", container_id, "tty"]), "/dev/null"])
    assert "/dev/pts/0" in tty.stdout, tty.stdout + tty.stderr
    rl.cmd("kill", container_id, "KILL", check=True)
    assert wait_for(_stopped(rl, container_id))
    rl.cmd("delete", container_id, check=True)
    assert not os.path.exists(os.path.join(rl.root, container_id))


def test_without_a_cgroup_ps_pause_update_say_why(rl):
    """No linux.cgroupsPath, and the default parent is not the user's: the container
    runs without a cgroup (runc's rule), and what needs one fails with runc's words."""
    bundle = rl.bundle(["sleep", "100"])
    container_id = rl.new_id()
    rl.cmd("run", "-d", "--bundle", bundle, container_id, check=True)
    for args, phrase in ((("ps", container_id), "unable to get all container pids"),
                         (("pause", container_id), "cannot toggle freezer: cgroups not configured for container"),
                         (("update", "--memory", "67108864", container_id),
                          "cannot set memory limit: container could not join or create cgroup")):
        result = rl.cmd(*args)
        assert result.returncode == 1 and phrase in result.stderr, (args, result.stderr)
        assert "linux.cgroupsPath" in result.stderr  # and what to do about it
        _clean(result)
    assert rl.state(container_id)["status"] == "running"
    rl.cmd("kill", "--all", container_id, "KILL", check=True)  # the init, with no cgroup to list
    assert wait_for(_stopped(rl, container_id))


def test_limits_without_a_cgroup_are_refused_and_nothing_is_left(rl):
    def limited(config):
        config["linux"]["resources"] = {"memory": {"limit": 67108864}}

    bundle = rl.bundle(["true"], edit=limited)
    result = rl.cmd("run", "--bundle", bundle, rl.new_id())
    assert result.returncode == 1
    assert "linux.resources.memory.limit: cannot set memory limit: container could not join or create cgroup" \
        in result.stderr
    _clean(result)
    assert not os.path.isdir(rl.root) or os.listdir(rl.root) == []


def test_rootless_false_asks_for_the_cgroups_and_fails_cleanly(rl):
    bundle = rl.bundle(["true"])
    result = rl.cmd("run", "--bundle", bundle, rl.new_id(), global_args=("--rootless", "false"))
    assert result.returncode == 1 and "Permission denied" in result.stderr, result.stderr
    _clean(result)
    bad = rl.cmd("list", global_args=("--rootless", "maybe"))
    assert bad.returncode != 0 and "invalid value for --rootless: maybe" in bad.stderr


def _limits_file(parent, name, v1_controller, v1_file, v2_file):
    if PURE_V2:
        return os.path.join(CGROUP_ROOT, parent.lstrip("/"), name, v2_file)
    return os.path.join(CGROUP_ROOT, v1_controller, parent.lstrip("/"), name, v1_file)


def _read(path):
    with open(path) as f:
        return f.read().strip()


def test_delegated_cgroup_gets_limits_ps_pause_update_stats(rl):
    parent = rl.delegate()

    def limited(config):
        config["linux"]["cgroupsPath"] = f"{parent}/c1"
        config["linux"]["resources"] = {"memory": {"limit": 67108864}, "pids": {"limit": 20}}

    bundle = rl.bundle(["sleep", "100"], edit=limited)
    container_id = rl.new_id()
    rl.cmd("run", "-d", "--bundle", bundle, container_id, check=True)
    memory = _limits_file(parent, "c1", "memory", "memory.limit_in_bytes", "memory.max")
    assert _read(memory) == "67108864"
    assert _read(_limits_file(parent, "c1", "pids", "pids.max", "pids.max")) == "20"
    pid = rl.state(container_id)["pid"]
    ps = rl.cmd("ps", "--format", "json", container_id, check=True)
    assert json.loads(ps.stdout) == [pid]
    rl.cmd("pause", container_id, check=True)
    assert rl.state(container_id)["status"] == "paused"
    rl.cmd("resume", container_id, check=True)
    assert rl.state(container_id)["status"] == "running"
    rl.cmd("update", "--memory", "100663296", container_id, check=True)
    assert _read(memory) == "100663296"
    stats = rl.cmd("events", "--stats", container_id, check=True)
    assert json.loads(stats.stdout)["data"]["memory"]["usage"]["limit"] == 100663296
    rl.cmd("delete", "--force", container_id, check=True)
    assert not os.path.exists(os.path.dirname(memory))


def test_delegated_cgroup_oom_kills_a_process_past_its_limit(rl):
    parent = rl.delegate()

    def limited(config):
        config["linux"]["cgroupsPath"] = f"{parent}/oom"
        config["linux"]["resources"] = {"memory": {"limit": 33554432, "swap": 33554432}}

    grow = 'x=; while :; do x="$x$(head -c 1048576 /dev/zero | tr "\\0" a)"; done'
    bundle = rl.bundle(["sh", "-c", grow], edit=limited)
    started = time.monotonic()
    result = rl.cmd("run", "--bundle", bundle, rl.new_id(), timeout=120)
    assert result.returncode == 137, (result.returncode, result.stderr)
    assert time.monotonic() - started < 100


def _wide_maps(rl, host_start):
    def edit(config):
        for key in ("uidMappings", "gidMappings"):
            config["linux"][key] = [{"containerID": 0, "hostID": rl.user.uid, "size": 1},
                                    {"containerID": 1, "hostID": host_start, "size": RANGE}]
    return edit


def test_wide_maps_go_through_newuidmap_and_allow_groups(rl):
    start, _ = subordinate_range(rl.user.name)

    def edit(config):
        _wide_maps(rl, start)(config)
        config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [5]}

    bundle = rl.bundle(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -G; sleep 100"],
                       edit=edit)
    container_id = rl.new_id()
    rl.cmd("run", "-d", "--bundle", bundle, container_id, check=True)
    pid = rl.state(container_id)["pid"]
    assert _host_uid(pid) == start + 999  # container uid 1000 = the user's subordinate uid
    with open(f"/proc/{pid}/uid_map") as f:
        assert [line.split() for line in f.read().splitlines()] == \
            [["0", str(rl.user.uid), "1"], ["1", str(start), str(RANGE)]]
    with open(f"/proc/{pid}/status") as f:
        groups = next(line for line in f if line.startswith("Groups:")).split()[1:]
    assert groups == [str(start + 4)]  # gid 5 in the container
    rl.cmd("delete", "--force", container_id, check=True)


def test_a_map_outside_the_users_ranges_is_refused_and_nothing_is_left(rl):
    start, size = subordinate_range(rl.user.name)
    bundle = rl.bundle(["true"], edit=_wide_maps(rl, start + 16 * size))
    result = rl.cmd("run", "--bundle", bundle, rl.new_id())
    assert result.returncode == 1
    assert "linux.uidMappings: newuidmap refused the map" in result.stderr and "/etc/subuid" in result.stderr
    _clean(result)


def test_additional_groups_need_more_than_the_users_own_gid(rl):
    def edit(config):
        config["process"]["user"]["additionalGids"] = [5]

    bundle = rl.bundle(["true"], edit=edit)
    result = rl.cmd("run", "--bundle", bundle, rl.new_id())
    assert result.returncode == 1
    assert "process.user.additionalGids: cannot set any additional groups in a rootless container" in result.stderr
    _clean(result)


def test_a_user_not_in_the_maps_is_named_before_anything_runs(rl):
    """The kernel would say only "Invalid argument" at setresuid: the runtime names
    the id and the map, at create and at exec (against the init's own maps)."""
    def as_1000(config):
        config["process"]["user"] = {"uid": 1000, "gid": 1000}

    bundle = rl.bundle(["true"], edit=as_1000)
    result = rl.cmd("run", "--bundle", bundle, rl.new_id())
    assert result.returncode == 1
    assert "process.user.uid: 1000 is not mapped in linux.uidMappings" in result.stderr, result.stderr
    _clean(result)
    container_id = rl.new_id()
    rl.cmd("run", "-d", "--bundle", rl.bundle(["sleep", "100"]), container_id, check=True)
    execd = rl.cmd("exec", "--user", "1000:1000", container_id, "true")
    assert execd.returncode == 255  # exec's status for a process that never started, as runc's
    assert "process.user.uid: 1000 is not mapped in the container's uidMappings" in execd.stderr, execd.stderr
    _clean(execd)
    rl.cmd("delete", "--force", container_id, check=True)
