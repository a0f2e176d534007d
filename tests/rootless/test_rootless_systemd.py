"""Rootless with systemd (the systemd VM lane: `make test-systemd`): the user's own
`systemd --user` (user@UID.service) owns a delegated cgroup v2 subtree; with
`--systemd-cgroup` the container's scope is a unit of that manager
(cgroups/systemd_user.py), so limits, pause and update work for a plain user
and for rootless podman with its systemd cgroup manager.

Skipped where systemd is not PID 1 on a pure cgroup v2 host (this machine
kind: make test-systemd runs it in the VM)."""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import RUNTIME, wait_for
from rootless.conftest import Rootless, checked
from rootless.test_rootless_podman import CONTAINERS_CONF, STORAGE_CONF

HOST_OK = os.path.isdir("/run/systemd/system") and os.path.exists("/sys/fs/cgroup/cgroup.controllers")
pytestmark = pytest.mark.skipif(not HOST_OK, reason="needs systemd as PID 1 on a pure cgroup v2 host "
                                                    "(make test-systemd runs it in the systemd VM)")


@pytest.fixture(scope="module")
def user_manager(rootless_user):
    """user@UID.service started for the test user (as a login would), stopped after."""
    unit = f"user@{rootless_user.uid}.service"
    started = subprocess.run(["systemctl", "start", unit], capture_output=True, text=True, timeout=120)
    if started.returncode != 0:
        pytest.skip(f"cannot start {unit}: {started.stderr.strip()}")
    runtime_dir = f"/run/user/{rootless_user.uid}"
    assert wait_for(lambda: os.path.exists(os.path.join(runtime_dir, "systemd", "private")), timeout=30)
    shown = subprocess.run(["systemctl", "show", "-P", "ControlGroup", unit], capture_output=True, text=True)
    yield runtime_dir, shown.stdout.strip()
    subprocess.run(["systemctl", "stop", unit], capture_output=True, timeout=120)


@pytest.fixture
def srl(rootless_user, busybox_template, user_manager):
    """A Rootless whose XDG_RUNTIME_DIR is the user's real one (its bus lives there)."""
    runtime = Rootless(rootless_user, busybox_template)
    runtime.xdg, runtime.manager_cgroup = user_manager
    runtime.root = os.path.join(runtime.xdg, "oci-runtime")
    # The user's manager, its (sd-pam) and its services (dbus) are the session's, not
    # the test's: every process of the manager's cgroup outside its user.slice, where
    # the containers' scopes go.
    runtime.ignore_process = lambda pid: (_cgroup_of(pid) + "/").startswith(runtime.manager_cgroup + "/") and \
        not _cgroup_of(pid).startswith(runtime.manager_cgroup + "/user.slice/")
    yield from checked(runtime)


def _cgroup_of(pid):
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return f.read().strip().split("::", 1)[-1]
    except OSError:
        return ""


def _read(path):
    with open(path) as f:
        return f.read().strip()


def test_a_users_container_is_a_scope_of_its_systemd(srl):
    container_id = srl.new_id()

    def limited(config):
        config["linux"]["cgroupsPath"] = f"user.slice:ocirt:{container_id}"
        config["linux"]["resources"] = {"memory": {"limit": 67108864}, "pids": {"limit": 20}}

    bundle = srl.bundle(["sleep", "100"], edit=limited)
    srl.cmd("run", "-d", "--bundle", bundle, container_id, global_args=("--systemd-cgroup",), check=True)
    scope = f"/sys/fs/cgroup{srl.manager_cgroup}/user.slice/ocirt-{container_id}.scope"
    pid = srl.state(container_id)["pid"]
    assert str(pid) in _read(f"{scope}/cgroup.procs").split()
    assert _read(f"{scope}/memory.max") == "67108864" and _read(f"{scope}/pids.max") == "20"
    assert os.stat(scope).st_uid == srl.user.uid  # Delegate=yes: the user's
    srl.cmd("pause", container_id, check=True)
    assert srl.state(container_id)["status"] == "paused"
    srl.cmd("resume", container_id, check=True)
    srl.cmd("update", "--memory", "100663296", container_id, check=True)
    assert _read(f"{scope}/memory.max") == "100663296"
    srl.cmd("delete", "--force", container_id, check=True)
    assert wait_for(lambda: not os.path.exists(scope))


def test_rootless_podman_with_its_systemd_cgroup_manager(srl):
    if not (shutil.which("podman") and shutil.which("conmon")):
        pytest.skip("podman/conmon not installed")
    base = os.path.join(srl.base, "podman")
    os.mkdir(base)
    for name, text in (("containers.conf", CONTAINERS_CONF.replace('"cgroupfs"', '"systemd"')),
                       ("storage.conf", STORAGE_CONF)):
        with open(os.path.join(base, name), "w") as f:
            f.write(text.format(base=base, runtime=RUNTIME))
    tarball = os.path.join(srl.base, "busybox.tar")
    subprocess.run(["tar", "-C", os.path.join(srl.template, "rootfs"), "-cf", tarball, "."], check=True)
    subprocess.run(["chown", "-R", f"{srl.user.uid}:{srl.user.gid}", base, tarball], check=True)
    env = {"CONTAINERS_CONF": os.path.join(base, "containers.conf"),
           "CONTAINERS_STORAGE_CONF": os.path.join(base, "storage.conf"),
           "DBUS_SESSION_BUS_ADDRESS": f"unix:path={srl.xdg}/bus"}

    def podman(*args):
        return srl.run_as(["podman", *args], timeout=180, **env)

    image = "localhost/ocirt-rl-sd:latest"
    assert podman("import", "-q", tarball, image).returncode == 0
    try:
        started = podman("run", "-d", "--name", "rl-sd", "--memory", "64m", image, "sleep", "300")
        assert started.returncode == 0, started.stderr
        cid = started.stdout.strip()
        pid = json.loads(podman("inspect", cid).stdout)[0]["State"]["Pid"]
        with open(f"/proc/{pid}/cgroup") as f:
            cgroup = f.read().strip().split("::", 1)[1]
        assert cgroup.startswith(srl.manager_cgroup + "/") and cgroup.endswith(".scope"), cgroup
        assert _read(f"/sys/fs/cgroup{cgroup}/memory.max") == "67108864"
        assert podman("pause", cid).returncode == 0
        assert _read(f"/sys/fs/cgroup{cgroup}/cgroup.freeze") == "1"
        assert podman("unpause", cid).returncode == 0
        updated = podman("update", "--memory", "96m", cid)
        assert updated.returncode == 0, updated.stderr
        assert _read(f"/sys/fs/cgroup{cgroup}/memory.max") == "100663296"
        stats = podman("stats", "--no-stream", "--format", "{{.MemUsage}}", cid)
        assert stats.returncode == 0 and "/" in stats.stdout, stats.stdout + stats.stderr  # "used / limit"
        assert podman("rm", "-f", "-t", "0", cid).returncode == 0
        assert wait_for(lambda: not os.path.exists(f"/sys/fs/cgroup{cgroup}"))
    finally:
        podman("rm", "--all", "--force", "-t", "0")
        pause = os.path.join(srl.xdg, "libpod", "tmp", "pause.pid")
        if os.path.exists(pause):
            try:
                os.kill(int(_read(pause)), 9)
            except (OSError, ValueError):
                pass
        subprocess.run(["rm", "-rf", os.path.join(srl.xdg, "libpod"), os.path.join(srl.xdg, "containers")])
        time.sleep(0.2)
