"""The real engines drive oci-runtime: podman (through conmon) and containerd
(through containerd-shim-runc-v2); their private daemons and configurations are
tests/engines/conftest.py's.  In the systemd lane the same tests run with the
engines' systemd cgroup managers (see there)."""
import subprocess
import time

import pytest

from conftest import RUNTIME, SYSTEMD_MODE
from enginekit import IMAGE


# ------------------------------------------------------------------ podman

def test_podman_run_rm_and_exit_codes(podman):
    result = podman("run", "--rm", IMAGE, "sh", "-c", "echo hi from podman; hostname")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "hi from podman"
    assert podman("run", "--rm", IMAGE, "sh", "-c", "exit 3").returncode == 3
    missing = podman("run", "--rm", IMAGE, "no-such-program")
    assert missing.returncode == 127 and "executable file not found in $PATH" in missing.stderr


def test_podman_detached_exec_ps_stop_rm(podman):
    started = podman("run", "-d", IMAGE, "sleep", "300")
    assert started.returncode == 0, started.stderr
    cid = started.stdout.strip()
    try:
        assert podman("ps", "--format", "{{.ID}} {{.Status}}").stdout.startswith(cid[:12])
        assert "Up" in podman("ps", "--format", "{{.Status}}", "--filter", f"id={cid}").stdout
        execd = podman("exec", cid, "sh", "-c", "echo exec-ok; ps -o pid,args")
        assert execd.returncode == 0, execd.stderr
        assert "exec-ok" in execd.stdout and "sleep 300" in execd.stdout
        assert podman("exec", cid, "sh", "-c", "exit 9").returncode == 9
        top = podman("top", cid)
        assert top.returncode == 0 and "sleep" in top.stdout
        assert podman("stop", "-t", "1", cid).returncode == 0
        assert "Exited" in podman("ps", "-a", "--format", "{{.Status}}", "--filter", f"id={cid}").stdout
    finally:
        assert podman("rm", "-f", cid).returncode == 0


def test_podman_process_options(podman):
    result = podman("run", "--rm", "--user", "1000:1000", "--hostname", "pod-host", "-e", "FOO=bar",
                    "--read-only", "--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE",
                    "--memory", "64m", "--pids-limit", "50", IMAGE, "sh", "-c",
                    "id -u; hostname; echo $FOO; grep CapEff /proc/self/status; touch /x 2>&1; "
                    "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max")
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[:3] == ["1000", "pod-host", "bar"]
    assert int(out[3].split()[1], 16) == 1 << 10  # only CAP_NET_BIND_SERVICE
    assert "Read-only file system" in out[4]
    assert out[5] == "50"


def test_podman_run_in_6_mib(podman):
    """The case issue 7 names (6 MiB is the smallest limit podman accepts): the
    init's set-up and the waiting process are charged to the container's limit and
    must fit in it.  The limit is read back from inside."""
    result = podman("run", "--rm", "--memory", "6m", "--memory-swap", "6m", IMAGE, "sh", "-c",
                    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(6 * 1024 * 1024)]


def test_podman_init_and_rootfs(podman, busybox_template):
    with_init = podman("run", "--rm", "--init", IMAGE, "ps", "-o", "pid,args")
    assert with_init.returncode == 0, with_init.stderr
    assert "1 /run/podman-init" in " ".join(with_init.stdout.split())
    rootfs = podman("run", "--rm", "--rootfs", str(busybox_template / "rootfs"), "cat", "/etc/motd")
    assert rootfs.returncode == 0 and rootfs.stdout == "oci-runtime busybox bundle\n", rootfs.stderr


def test_podman_run_with_a_terminal(podman):
    command = "podman run --rm -t " + IMAGE + " sh -c 'tty; echo done'"
    result = subprocess.run(["script", "-qec", command, "/dev/null"], env=podman.env, capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "/dev/pts/0" in result.stdout and "done" in result.stdout


# ------------------------------------------------------------------ containerd

def ctr_run(ctr, *args):
    systemd = ()
    if SYSTEMD_MODE:  # ctr wants the slice:prefix:name path with it: the unit is ctr-<id>.scope
        container_id = args[args.index(IMAGE) + 1]
        systemd = ("--runc-systemd-cgroup", "--cgroup", f"system.slice:ctr:{container_id}")
    return ctr("run", "--runc-binary", RUNTIME, "--runc-root", ctr.state_root, *systemd, *args)


def test_containerd_run_rm_and_fd_hygiene(ctr):
    result = ctr_run(ctr, "--rm", IMAGE, "ctr-t1", "sh", "-c", "echo hi from containerd; ls /proc/self/fd")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert lines[:4] == ["hi", "from", "containerd", "0"]
    assert lines[4:] == ["1", "2", "3"]  # the shim's socket (its fd 3) did not reach the container
    assert ctr_run(ctr, "--rm", IMAGE, "ctr-t2", "sh", "-c", "exit 4").returncode == 4


def test_containerd_task_exec_ps_pause_kill(ctr):
    assert ctr_run(ctr, "-d", IMAGE, "ctr-t3", "sleep", "300").returncode == 0
    try:
        execd = ctr("task", "exec", "--exec-id", "e1", "ctr-t3", "sh", "-c", "echo in-exec; hostname")
        assert execd.returncode == 0 and "in-exec" in execd.stdout, execd.stderr
        assert ctr("task", "ps", "ctr-t3").returncode == 0
        assert ctr("task", "pause", "ctr-t3").returncode == 0
        assert "PAUSED" in ctr("task", "ls").stdout
        assert ctr("task", "resume", "ctr-t3").returncode == 0
        assert "RUNNING" in ctr("task", "ls").stdout
        assert ctr("task", "kill", "-s", "SIGKILL", "ctr-t3").returncode == 0
        deadline = time.monotonic() + 10
        while "STOPPED" not in ctr("task", "ls").stdout and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "STOPPED" in ctr("task", "ls").stdout
    finally:
        ctr("task", "rm", "-f", "ctr-t3")
        ctr("container", "rm", "ctr-t3")


def test_containerd_run_with_a_terminal(ctr):
    command = f"ctr --address {ctr.state_root.rsplit('/', 1)[0]}/c.sock run --rm -t --runc-binary {RUNTIME} " \
              f"--runc-root {ctr.state_root} {IMAGE} ctr-t4 tty"
    result = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "/dev/pts/0" in result.stdout


@pytest.mark.skipif(not SYSTEMD_MODE, reason="the systemd lane's engines (make test-systemd)")
def test_the_engines_containers_are_systemd_scopes(podman, ctr):
    def show(unit, prop):
        return subprocess.run(["systemctl", "show", "-p", prop, "--value", unit], capture_output=True,
                              text=True).stdout.strip()
    started = podman("run", "-d", "--memory", "64m", IMAGE, "sleep", "300")
    assert started.returncode == 0, started.stderr
    cid = started.stdout.strip()
    try:
        unit = f"libpod-{cid}.scope"
        assert show(unit, "ActiveState") == "active" and show(unit, "Slice") == "machine.slice"
        assert show(unit, "MemoryMax") == str(64 << 20)
        assert podman("update", "--memory", "48m", cid).returncode == 0
        assert show(unit, "MemoryMax") == str(48 << 20)
        assert podman("pause", cid).returncode == 0 and podman("unpause", cid).returncode == 0
    finally:
        assert podman("rm", "-f", "-t", "0", cid).returncode == 0
    assert show(unit, "LoadState") == "not-found"
    assert ctr_run(ctr, "-d", IMAGE, "ctr-sd", "sleep", "300").returncode == 0
    try:
        assert show("ctr-ctr-sd.scope", "ActiveState") == "active"
        execd = ctr("task", "exec", "--exec-id", "e1", "ctr-sd", "cat", "/proc/self/cgroup")
        assert execd.returncode == 0, execd.stderr
        assert ctr("task", "kill", "-s", "SIGKILL", "ctr-sd").returncode == 0
    finally:
        ctr("task", "rm", "-f", "ctr-sd")
        ctr("container", "rm", "ctr-sd")
    deadline = time.monotonic() + 10
    while show("ctr-ctr-sd.scope", "LoadState") != "not-found" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert show("ctr-ctr-sd.scope", "LoadState") == "not-found"
