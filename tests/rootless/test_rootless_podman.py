"""Rootless podman drives oci-runtime (`--runtime`): podman runs it inside its own
user namespace, as uid 0 there, with the user's XDG_RUNTIME_DIR -- rootless
by rootless.py's rule (root of a user namespace that is not the host's).

A private podman configuration (containers.conf, storage.conf) under the
test's directory, an image imported from the busybox rootfs (no registry),
no network namespace set-up (slirp4netns needs /dev/net/tun, which users
may not open here).  The checks are those rootless runc passes on this host
(../shared/recipes/rootless/verify-podman.sh)."""
import os
import shutil
import signal
import subprocess

import pytest

from conftest import RUNTIME
from rootless.conftest import Rootless

IMAGE = "localhost/ocirt-rl-busybox:latest"

CONTAINERS_CONF = """[containers]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{base}/events.log"
runtime = "oci-runtime"
runtime_supports_json = ["oci-runtime"]

[engine.runtimes]
oci-runtime = ["{runtime}"]
"""

# vfs: copies, but works everywhere (native rootless overlay is refused on some
# filesystems, e.g. the VM lanes' root, and fuse-overlayfs needs /dev/fuse).
STORAGE_CONF = """[storage]
driver = "vfs"
graphroot = "{base}/storage"
rootless_storage_path = "{base}/storage"
"""


@pytest.fixture(scope="module")
def podman(rootless_user, busybox_template):
    if not (shutil.which("podman") and shutil.which("conmon")):
        pytest.skip("podman/conmon not installed (make test installs them)")
    rl = Rootless(rootless_user, busybox_template)
    base = os.path.join(rl.base, "podman")
    os.mkdir(base)
    for name, text in (("containers.conf", CONTAINERS_CONF), ("storage.conf", STORAGE_CONF)):
        with open(os.path.join(base, name), "w") as f:
            f.write(text.format(base=base, runtime=RUNTIME))
    tarball = os.path.join(rl.base, "busybox.tar")
    subprocess.run(["tar", "-C", str(busybox_template / "rootfs"), "-cf", tarball, "."], check=True)
    subprocess.run(["chown", "-R", f"{rootless_user.uid}:{rootless_user.gid}", base, tarball], check=True)
    conf = {"CONTAINERS_CONF": os.path.join(base, "containers.conf"),
            "CONTAINERS_STORAGE_CONF": os.path.join(base, "storage.conf")}

    def run(*args, timeout=90, script=False):
        argv = ["podman", *args]
        if script:  # a terminal: podman -t needs one on its own stdin
            argv = ["script", "-qec", " ".join(argv), "/dev/null"]
        return rl.run_as(argv, timeout=timeout, **conf)

    imported = run("import", "-q", tarball, IMAGE)
    assert imported.returncode == 0, imported.stderr
    run.rl = rl
    try:
        yield run
    finally:
        run("rm", "--all", "--force", "-t", "0")
        try:
            with open(os.path.join(rl.xdg, "libpod", "tmp", "pause.pid")) as f:
                os.kill(int(f.read().strip()), signal.SIGKILL)  # podman's pause process: the user's, ours
        except (OSError, ValueError):
            pass
        problems = [p for p in rl.leftovers() if "processes" not in p or _not_exiting(rootless_user)]
        rl.remove()
    assert not problems, "rootless podman left things behind: " + "; ".join(problems)


def _not_exiting(user):
    """The pause process just killed may take a moment to go."""
    from conftest import wait_for

    return not wait_for(lambda: not user.processes(), timeout=5)


def test_run_exit_codes_and_the_user_namespace(podman):
    result = podman("run", "--rm", IMAGE, "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[0] == ["0"]
    assert lines[1] == ["0", str(podman.rl.user.uid), "1"] and lines[2][0] == "1"  # podman's subuid range
    assert podman("run", "--rm", IMAGE, "sh", "-c", "exit 7").returncode == 7
    # the runtime's state is under the user's XDG_RUNTIME_DIR (podman does not pass --root)
    assert os.path.isdir(os.path.join(podman.rl.xdg, "oci-runtime"))


def test_detached_exec_stop_start_rm(podman):
    started = podman("run", "-d", "--name", "rl-d", IMAGE, "sleep", "1000")
    assert started.returncode == 0, started.stderr
    execd = podman("exec", "rl-d", "sh", "-c", "echo exec-ok; id -u")
    assert execd.stdout.split() == ["exec-ok", "0"], execd.stderr
    assert podman("exec", "rl-d", "sh", "-c", "exit 5").returncode == 5
    tty = podman("exec", "-it", "rl-d", "tty", script=True)
    assert "/dev/pts/" in tty.stdout, tty.stderr
    top = podman("top", "rl-d")
    assert top.returncode == 0 and "sleep 1000" in top.stdout, top.stderr
    assert podman("kill", "-s", "TERM", "rl-d").returncode == 0  # pid 1 ignores TERM: it keeps running
    assert podman("inspect", "-f", "{{.State.Status}}", "rl-d").stdout.strip() == "running"
    assert podman("stop", "-t", "1", "rl-d").returncode == 0
    status = podman("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "rl-d")
    assert status.stdout.split() == ["exited", "137"]
    assert podman("start", "rl-d").returncode == 0
    assert podman("inspect", "-f", "{{.State.Status}}", "rl-d").stdout.strip() == "running"
    assert podman("rm", "-f", "-t", "0", "rl-d").returncode == 0


def test_process_options(podman):
    result = podman("run", "--rm", "--user", "1000:1000", "--hostname", "rl-host", "-e", "FOO=bar", "-w", "/tmp",
                    IMAGE, "sh", "-c", "id -u; id -g; hostname; echo $FOO; pwd")
    assert result.stdout.split() == ["1000", "1000", "rl-host", "bar", "/tmp"], result.stderr
    caps = podman("run", "--rm", "--cap-drop", "ALL", "--cap-add", "CHOWN", IMAGE, "sh", "-c",
                  "grep CapEff /proc/self/status; chown 1 /tmp && echo chowned")
    assert caps.stdout.split() == ["CapEff:", "0000000000000001", "chowned"], caps.stderr
    dropped = podman("run", "--rm", "--cap-drop", "ALL", IMAGE, "chown", "1", "/tmp")
    assert dropped.returncode != 0 and "Operation not permitted" in dropped.stderr
    readonly = podman("run", "--rm", "--read-only", IMAGE, "touch", "/x")
    assert readonly.returncode != 0 and "Read-only file system" in readonly.stderr
    limits = podman("run", "--rm", "--ulimit", "nofile=1024:2048", IMAGE, "sh", "-c", "ulimit -n; ulimit -Hn")
    assert limits.stdout.split() == ["1024", "2048"], limits.stderr


def test_privileged_init_terminal_stdin_and_rootfs(podman):
    privileged = podman("run", "--rm", "--privileged", IMAGE, "sh", "-c",
                        "grep CapEff /proc/self/status; test -c /dev/null && echo null-ok")
    assert privileged.returncode == 0, privileged.stderr
    assert privileged.stdout.split()[1].endswith("ffffffffff") and "null-ok" in privileged.stdout
    init = podman("run", "--rm", "--init", IMAGE, "cat", "/proc/1/cmdline")
    assert init.stdout.startswith("/run/podman-init"), init.stderr
    tty = podman("run", "--rm", "-t", IMAGE, "tty", script=True)
    assert "/dev/pts/0" in tty.stdout, tty.stderr
    piped = podman.rl.run_as(["sh", "-c", f"echo piped | podman run --rm -i {IMAGE} cat"],
                             CONTAINERS_CONF=os.path.join(podman.rl.base, "podman", "containers.conf"),
                             CONTAINERS_STORAGE_CONF=os.path.join(podman.rl.base, "podman", "storage.conf"))
    assert piped.stdout.strip() == "piped", piped.stderr
    rootfs = os.path.join(podman.rl.base, "rootfs-copy")
    shutil.copytree(os.path.join(podman.rl.template, "rootfs"), rootfs, symlinks=True)
    subprocess.run(["chown", "-R", f"{podman.rl.user.uid}:{podman.rl.user.gid}", rootfs], check=True)
    direct = podman("run", "--rm", "--rootfs", rootfs, "sh", "-c", "id -u")
    assert direct.stdout.strip() == "0", direct.stderr
    host = podman("run", "--rm", "--network", "host", IMAGE, "true")
    assert host.returncode == 0, host.stderr


def test_restart_policy(podman):
    started = podman("run", "-d", "--name", "rl-restart", "--restart", "on-failure:2", IMAGE, "sh", "-c",
                     "sleep 0.3; exit 4")
    assert started.returncode == 0, started.stderr
    from conftest import wait_for

    def restarted_twice():
        out = podman("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}", "rl-restart")
        return out.stdout.split() == ["exited", "4", "2"]

    try:
        assert wait_for(restarted_twice, timeout=30)
    finally:
        podman("rm", "-f", "-t", "0", "rl-restart")
