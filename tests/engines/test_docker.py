"""Docker drives oci-runtime (`dockerd --add-runtime ocirt=...`): a private dockerd
started once per session (tests/engines/conftest.py: docker) -- its own data-root, exec-root, socket and pid file
under one test directory, no iptables, no bridge, containers under a test-owned
cgroup parent, stopped by its pid -- with oci-runtime and runc registered side
by side on the one daemon.  The image is imported from the busybox rootfs (no
registry).  Skipped with the reason where Debian's docker.io is not installed
(`make test` installs it).

Docker 20.10 gives every added runtime runc's state directory
(`--root <exec-root>/runtime-runc/moby`): both runtimes keep their state
there, side by side, which the last test checks."""
import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import RUNTIME, SYSTEMD_MODE, wait_for
from enginekit import DOCKER, IMAGE

HAVE_RUNC = shutil.which("runc") is not None

pytestmark = pytest.mark.skipif(SYSTEMD_MODE, reason="the systemd lane runs podman and containerd")


def dr(docker, *args, runtime="ocirt", **kw):
    """docker run --rm with the runtime under test, no network set-up."""
    return docker("run", "--rm", "--runtime", runtime, "--network", "none", *args, **kw)


def _clean(result):
    assert "[Errno" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_run_exit_codes_stdin_and_terminal(docker):
    hello = dr(docker, IMAGE, "sh", "-c", "echo hi; hostname -s >/dev/null")
    assert hello.returncode == 0 and hello.stdout == "hi\n", hello.stderr
    assert dr(docker, IMAGE, "sh", "-c", "exit 7").returncode == 7
    piped = subprocess.run(["sh", "-c", f"echo piped | {DOCKER} run --rm -i --runtime ocirt --network none "
                                        f"{IMAGE} cat"], env=docker.env, capture_output=True, text=True, timeout=90)
    assert piped.stdout == "piped\n", piped.stderr
    tty = dr(docker, "-t", IMAGE, "tty", script=True)
    assert "/dev/pts/0" in tty.stdout, tty.stdout + tty.stderr


def test_detached_exec_top_stats_pause_update_stop_start(docker):
    started = docker("run", "-d", "--name", "ocirt-d1", "--runtime", "ocirt", "--network", "none", IMAGE,
                     "sleep", "1000")
    assert started.returncode == 0, started.stderr
    try:
        execd = docker("exec", "ocirt-d1", "sh", "-c", "echo exec-ok")
        assert execd.stdout == "exec-ok\n", execd.stderr
        assert docker("exec", "ocirt-d1", "sh", "-c", "exit 5").returncode == 5
        tty = docker("exec", "-it", "ocirt-d1", "tty", script=True)
        assert "/dev/pts/" in tty.stdout, tty.stdout + tty.stderr
        top = docker("top", "ocirt-d1")  # docker top: `ps --format json` of the runtime
        assert top.returncode == 0 and "sleep 1000" in top.stdout, top.stderr
        stats = docker("stats", "--no-stream", "--format", "{{.PIDs}}", "ocirt-d1")
        assert stats.stdout.strip() == "1", stats.stdout + stats.stderr
        assert docker("pause", "ocirt-d1").returncode == 0
        assert docker("inspect", "-f", "{{.State.Status}}", "ocirt-d1").stdout.strip() == "paused"
        assert docker("unpause", "ocirt-d1").returncode == 0
        updated = docker("update", "--memory", "128m", "--memory-swap", "256m", "--pids-limit", "50", "ocirt-d1")
        assert updated.returncode == 0, updated.stderr
        limits = docker("exec", "ocirt-d1", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                        "/sys/fs/cgroup/pids/pids.max")
        assert limits.stdout.split() == ["134217728", "50"], limits.stdout + limits.stderr
        assert docker("stop", "-t", "1", "ocirt-d1").returncode == 0  # sleep ignores TERM as pid 1: killed
        assert docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "ocirt-d1").stdout.split() == \
            ["exited", "137"]
        assert docker("start", "ocirt-d1").returncode == 0
        assert docker("inspect", "-f", "{{.State.Status}}", "ocirt-d1").stdout.strip() == "running"
        first = docker("inspect", "-f", "{{.State.Pid}}", "ocirt-d1").stdout.strip()
        assert docker("restart", "-t", "1", "ocirt-d1").returncode == 0
        assert docker("inspect", "-f", "{{.State.Status}}", "ocirt-d1").stdout.strip() == "running"
        assert docker("inspect", "-f", "{{.State.Pid}}", "ocirt-d1").stdout.strip() != first
    finally:
        assert docker("rm", "-f", "ocirt-d1").returncode == 0


def test_stop_delivers_sigterm_to_a_trapping_process(docker):
    started = docker("run", "-d", "--name", "ocirt-term", "--runtime", "ocirt", "--network", "none", IMAGE, "sh",
                     "-c", "trap 'exit 3' TERM; while :; do sleep 0.2; done")
    assert started.returncode == 0, started.stderr
    try:
        time.sleep(0.5)
        assert docker("stop", "ocirt-term").returncode == 0
        assert docker("inspect", "-f", "{{.State.ExitCode}}", "ocirt-term").stdout.strip() == "3"
    finally:
        docker("rm", "-f", "ocirt-term")


def test_resource_limits_and_the_oom_killer(docker):
    memory = dr(docker, "--memory", "64m", IMAGE, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert memory.stdout.strip() == "67108864", memory.stderr
    grow = 'x=; while :; do x="$x$(head -c 1048576 /dev/zero | tr "\\0" a)"; done'
    started = docker("run", "-d", "--name", "ocirt-oom", "--runtime", "ocirt", "--network", "none", "--memory",
                     "64m", "--memory-swap", "64m", IMAGE, "sh", "-c", grow)
    assert started.returncode == 0, started.stderr
    try:
        assert docker("wait", "ocirt-oom", timeout=120).stdout.strip() == "137"
        assert docker("inspect", "-f", "{{.State.OOMKilled}}", "ocirt-oom").stdout.strip() == "true"
    finally:
        docker("rm", "-f", "ocirt-oom")
    pids = dr(docker, "--pids-limit", "10", IMAGE, "sh", "-c",
              "cat /sys/fs/cgroup/pids/pids.max; for i in 1 2 3 4 5 6 7 8 9 10 11; do sleep 2 & done; wait")
    assert pids.stdout.split()[0] == "10" and "Resource temporarily unavailable" in pids.stderr + pids.stdout
    cpus = dr(docker, "--cpus", "0.5", "--cpu-shares", "512", IMAGE, "cat", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us",
              "/sys/fs/cgroup/cpu/cpu.shares")
    assert cpus.stdout.split() == ["50000", "512"], cpus.stderr


def test_process_options(docker):
    caps = dr(docker, "--cap-drop", "ALL", "--cap-add", "CHOWN", IMAGE, "sh", "-c",
              "grep CapEff /proc/self/status; chown 1 /tmp && echo chowned")
    assert caps.stdout.split() == ["CapEff:", "0000000000000001", "chowned"], caps.stderr
    readonly = dr(docker, "--read-only", "--tmpfs", "/scratch", IMAGE, "sh", "-c",
                  "touch /scratch/ok && echo tmpfs-ok; touch /x")
    assert "tmpfs-ok" in readonly.stdout and "Read-only file system" in readonly.stderr
    misc = dr(docker, "--user", "1000:1000", "--hostname", "ocirt-h", "-e", "FOO=bar", "-w", "/tmp", IMAGE,
              "sh", "-c", "id -u; hostname; echo $FOO; pwd")
    assert misc.stdout.split() == ["1000", "ocirt-h", "bar", "/tmp"], misc.stderr
    init = dr(docker, "--init", IMAGE, "cat", "/proc/1/cmdline")
    assert init.stdout.startswith("/sbin/docker-init"), init.stdout + init.stderr
    ulimit = dr(docker, "--ulimit", "nofile=1024:2048", IMAGE, "sh", "-c", "ulimit -n; ulimit -Hn")
    assert ulimit.stdout.split() == ["1024", "2048"], ulimit.stderr
    source = os.path.join(docker.base, "volume")
    os.makedirs(source, exist_ok=True)
    with open(os.path.join(source, "file"), "w") as f:
        f.write("from the host\n")
    volume = dr(docker, "-v", f"{source}:/data:ro", IMAGE, "sh", "-c", "cat /data/file; touch /data/x")
    assert volume.stdout == "from the host\n" and "Read-only file system" in volume.stderr
    seccomp = dr(docker, "--security-opt", "no-new-privileges", IMAGE, "grep", "NoNewPrivs", "/proc/self/status")
    assert seccomp.stdout.split() == ["NoNewPrivs:", "1"], seccomp.stderr


def test_restart_policy(docker):
    started = docker("run", "-d", "--name", "ocirt-restart", "--runtime", "ocirt", "--network", "none",
                     "--restart", "on-failure:2", IMAGE, "sh", "-c", "sleep 0.3; exit 4")
    assert started.returncode == 0, started.stderr
    try:
        assert wait_for(lambda: docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}",
                                       "ocirt-restart").stdout.split() == ["exited", "4", "2"], timeout=60)
    finally:
        docker("rm", "-f", "ocirt-restart")


def test_what_cannot_work_here_is_said_readably(docker):
    """This host's root lacks CAP_SYS_RESOURCE (runc fails the same two ways): the
    message docker shows names the field, the value and the fix."""
    with open("/proc/self/status") as f:
        bounding = int(next(line for line in f if line.startswith("CapBnd:")).split()[1], 16)
    if bounding & (1 << 24):
        pytest.skip("this host's root holds CAP_SYS_RESOURCE: both would run")
    all_caps = dr(docker, "--cap-add", "ALL", IMAGE, "true")
    assert all_caps.returncode != 0
    assert "CAP_SYS_RESOURCE is not in this runtime's own bounding set" in all_caps.stderr, all_caps.stderr
    assert "--cap-drop SYS_RESOURCE" in all_caps.stderr
    _clean(all_caps)
    over = dr(docker, "--ulimit", "nofile=30000:30000", IMAGE, "true")
    assert over.returncode != 0
    assert "RLIMIT_NOFILE 30000:30000 asks for a hard limit above this runtime's own" in over.stderr, over.stderr
    _clean(over)


@pytest.mark.skipif(not HAVE_RUNC, reason="runc is not installed: no second runtime to run beside")
def test_two_runtimes_side_by_side_on_one_daemon(docker):
    """Both runtimes get `--root <exec-root>/runtime-runc/moby` from dockerd 20.10 and keep
    their containers there side by side; each lists only what it can read as its own."""
    ours = docker("run", "-d", "--name", "ocirt-side", "--runtime", "ocirt", "--network", "none", IMAGE, "sleep",
                  "300")
    theirs = docker("run", "-d", "--name", "runc-side", "--runtime", "runc2", "--network", "none", IMAGE, "sleep",
                    "300")
    try:
        assert ours.returncode == 0 and theirs.returncode == 0, ours.stderr + theirs.stderr
        root = os.path.join(docker.base, "exec", "runtime-runc", "moby")
        ours_id, theirs_id = ours.stdout.strip(), theirs.stdout.strip()
        assert os.path.exists(os.path.join(root, ours_id, "state.json"))  # oci-runtime's state file
        assert os.path.exists(os.path.join(root, theirs_id, "state.json"))  # runc's
        state = subprocess.run([RUNTIME, "--root", root, "state", ours_id], capture_output=True, text=True)
        assert json.loads(state.stdout)["status"] == "running", state.stderr
        listed = subprocess.run([RUNTIME, "--root", root, "list", "-q"], capture_output=True, text=True)
        assert listed.returncode == 0 and listed.stdout.split() == [ours_id], listed.stdout + listed.stderr
        assert theirs_id in listed.stderr  # runc's, named in a warning: not ours to read
        # runc's first: ours made the shared cgroup parent, and its delete (the
        # shim's, when the container stops), coming last, removes the parent and its
        # listing in /run/oci-runtime/cgroup-parents.json; runc leaves parents, and
        # the teardown's removal of it would leave the listing behind
        for name in ("runc-side", "ocirt-side"):
            assert docker("exec", name, "true").returncode == 0
            assert docker("stop", "-t", "1", name).returncode == 0
    finally:
        docker("rm", "-f", "runc-side")
        docker("rm", "-f", "ocirt-side")
