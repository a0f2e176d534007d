"""The engines' private daemons and configurations, shared by tests/engines/:
podman (through conmon) and containerd (through containerd-shim-runc-v2), each
with a private configuration and state made here (nothing in /etc changes), on an
image imported from the busybox rootfs; Docker's private dockerd (docker_daemon).

In the systemd lane (OCI_RUNTIME_TEST_SYSTEMD=1, `make test-systemd`) podman uses its
systemd cgroup manager and containerd's runc shim is told SystemdCgroup (ctr's
--runc-systemd-cgroup), so oci-runtime gets --systemd-cgroup and slice:prefix:name
paths; the engines' storage then sits on a tmpfs (the VM's root is an overlayfs,
which overlayfs refuses as an upper directory)."""
import json
import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from conftest import RUNTIME, SYSTEMD_MODE, wait_for

HAVE_PODMAN = shutil.which("podman") and shutil.which("conmon")
HAVE_CONTAINERD = shutil.which("containerd") and shutil.which("ctr")
IMAGE = "localhost/ocirt-busybox:latest"
DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"

CONTAINERS_CONF = """[containers]
# Root here may lack CAP_SYS_RESOURCE: podman's default ulimits would need it.
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"

[network]
network_backend = "netavark"

[engine]
cgroup_manager = "{cgroup_manager}"
events_logger = "file"
events_logfile_path = "{base}/events.log"
tmp_dir = "{base}/tmp"
runtime = "oci-runtime"
runtime_supports_json = ["oci-runtime"]

[engine.runtimes]
oci-runtime = ["{runtime}"]
"""

STORAGE_CONF = """[storage]
driver = "overlay"
graphroot = "{base}/root"
runroot = "{base}/runroot"
"""

CONTAINERD_TOML = """version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{base}/c.sock"

[ttrpc]
  address = "{base}/c.sock.ttrpc"

[debug]
  address = "{base}/d.sock"

[metrics]
  address = ""
"""


@pytest.fixture(scope="session")
def engines_dir():
    base = f"/tmp/ocirt-engines-{os.getpid()}"
    os.makedirs(base)
    if SYSTEMD_MODE:
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", base], check=True)
    yield base
    if SYSTEMD_MODE:
        subprocess.run(["umount", "-l", base])
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def podman(engines_dir, busybox_template):
    if not HAVE_PODMAN:
        pytest.skip("podman/conmon not installed (make test installs them)")
    base = os.path.join(engines_dir, "podman")
    os.makedirs(os.path.join(base, "tmp"))
    with open(os.path.join(base, "containers.conf"), "w") as f:
        f.write(CONTAINERS_CONF.format(base=base, runtime=RUNTIME,
                                       cgroup_manager="systemd" if SYSTEMD_MODE else "cgroupfs"))
    with open(os.path.join(base, "storage.conf"), "w") as f:
        f.write(STORAGE_CONF.format(base=base))
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(base, "containers.conf"),
               CONTAINERS_STORAGE_CONF=os.path.join(base, "storage.conf"))

    def run(*args, timeout=60, **kw):
        return subprocess.run(["podman", *args], env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    tar = subprocess.Popen(["tar", "-C", str(busybox_template / "rootfs"), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["podman", "import", "-", IMAGE], env=env, stdin=tar.stdout, check=True,
                   capture_output=True)
    tar.wait()
    run.env = env
    yield run
    run("rm", "--all", "--force")
    run("system", "reset", "--force")
    _remove_empty_cgroups("libpod_parent")  # podman's cgroupfs parent (conmon's cgroup lives there)


@pytest.fixture(scope="session")
def ctr(engines_dir, podman):
    if not HAVE_CONTAINERD:
        pytest.skip("containerd not installed (make test installs it)")
    base = os.path.join(engines_dir, "containerd")
    os.makedirs(base)
    with open(os.path.join(base, "config.toml"), "w") as f:
        f.write(CONTAINERD_TOML.format(base=base))
    daemon = subprocess.Popen(["containerd", "--config", os.path.join(base, "config.toml")],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(base, "log"), "w"),
                              start_new_session=True)
    address = os.path.join(base, "c.sock")

    def run(*args, timeout=60, **kw):
        return subprocess.run(["ctr", "--address", address, *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    deadline = time.monotonic() + 20
    while run("version").returncode != 0:
        assert time.monotonic() < deadline, open(os.path.join(base, "log")).read()
        time.sleep(0.1)
    archive = os.path.join(base, "image.tar")
    podman("save", "--format", "oci-archive", "-o", archive, IMAGE).check_returncode()
    run("images", "import", "--base-name", "localhost/ocirt-busybox", archive).check_returncode()
    run.state_root = os.path.join(base, "runtime-state")
    run.address = address
    yield run
    for task in run("tasks", "ls", "-q").stdout.split():
        run("tasks", "kill", "-s", "SIGKILL", task)
        run("tasks", "rm", "-f", task)
    for container in run("containers", "ls", "-q").stdout.split():
        run("containers", "rm", container)
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=10)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


def _remove_empty_cgroups(name):
    """Remove a cgroup tree the engines made under every hierarchy where it is empty;
    returns the directories that could not be removed (still holding processes)."""
    left = []
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        top = os.path.join("/sys/fs/cgroup", hierarchy, name)
        for directory, _dirs, _files in sorted(os.walk(top), key=lambda e: -len(e[0])):
            try:
                os.rmdir(directory)
            except OSError:
                left.append(directory)
    return left


def stop_daemon(daemon, log, base):
    """SIGTERM a private engine daemon (it stops what it started), wait, then unmount
    what it left mounted under its directory (dockerd's self bind mount of its
    data-root, now and then), deepest first."""
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()
    log.close()
    with open("/proc/self/mounts") as f:
        mounts = sorted((line.split()[1] for line in f if line.split()[1].startswith(base + "/")), reverse=True)
    for mount in mounts:
        subprocess.run(["umount", "-l", mount])


@pytest.fixture(scope="session")
def docker(busybox_template):
    """A private dockerd (Debian's docker.io 20.10) with oci-runtime added as "ocirt"
    and, where installed, runc as "runc2": its own data-root, exec-root, socket and
    pid file under one directory, no iptables, no bridge, containers under a
    test-owned cgroup parent; stopped by its pid.  Calling it runs the docker CLI."""
    if SYSTEMD_MODE:
        pytest.skip("the systemd lane runs podman and containerd")
    if not (os.access(DOCKERD, os.X_OK) and os.access(DOCKER, os.X_OK)):
        pytest.skip("Debian's docker.io is not installed (make test installs it)")
    tag = uuid.uuid4().hex[:8]
    base = f"/tmp/ocirt-docker-{tag}"  # short: dockerd's and containerd's sockets live under it
    os.makedirs(os.path.join(base, "cli"))
    with open(os.path.join(base, "daemon.json"), "w") as f:
        json.dump({"deprecated-key-path": os.path.join(base, "key.json")}, f)
    with open(os.path.join(base, "cli", "config.json"), "w") as f:
        f.write("{}\n")  # the client's (DOCKER_CONFIG): podman reads it too when both are in one environment
    cgroup_parent = f"ocirt-docker-{tag}"
    runtimes = ["--add-runtime", f"ocirt={RUNTIME}"]
    if shutil.which("runc"):
        runtimes += ["--add-runtime", "runc2=/usr/sbin/runc"]  # runc beside it, on the same daemon
    env = dict(os.environ, DOCKER_HOST=f"unix://{base}/docker.sock", DOCKER_CONFIG=f"{base}/cli")
    log = open(os.path.join(base, "dockerd.log"), "w")
    daemon = subprocess.Popen(
        [DOCKERD, "--config-file", f"{base}/daemon.json", "--host", f"unix://{base}/docker.sock", "--group", "root",
         "--data-root", f"{base}/root", "--exec-root", f"{base}/exec", "--pidfile", f"{base}/docker.pid",
         "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--ip-forward=false", "--bridge=none",
         "--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", f"/{cgroup_parent}",
         "--oom-score-adjust=0", *runtimes],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env)

    def run(*args, timeout=90, script=False, **kw):
        argv = [DOCKER, *args]
        if script:  # -t needs a terminal on the client's stdin
            argv = ["script", "-qec", " ".join(argv), "/dev/null"]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=kw.pop("stdin", subprocess.DEVNULL), **kw)

    try:
        if not wait_for(lambda: run("version").returncode == 0 or daemon.poll() is not None, timeout=60) \
                or daemon.poll() is not None:
            log.flush()
            pytest.fail("dockerd did not come up: " + open(os.path.join(base, "dockerd.log")).read()[-2000:])
        tarball = os.path.join(base, "busybox.tar")
        subprocess.run(["tar", "-C", str(busybox_template / "rootfs"), "-cf", tarball, "."], check=True)
        assert run("import", tarball, IMAGE).returncode == 0
        run.base, run.env, run.cgroup_parent = base, env, cgroup_parent
        yield run
    finally:
        ids = run("ps", "-aq").stdout.split()
        if ids:
            run("rm", "-f", *ids)
        stop_daemon(daemon, log, base)  # dockerd stops its own containerd
        left_cgroups = _remove_empty_cgroups(cgroup_parent)
        shutil.rmtree(base, ignore_errors=True)
    assert not left_cgroups, f"containers' cgroups left: {left_cgroups}"
