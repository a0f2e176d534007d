"""Private engine set-ups, shared by tests/engines/ (as pytest fixtures) and by
benchmarks/engines.py: podman (through conmon), containerd (through
containerd-shim-runc-v2, driven by ctr) and Docker's dockerd, each with its own
configuration, storage, sockets and state under one directory made by the
caller (nothing in /etc changes), on an image made from a rootfs directory (no
registry).  Each is a callable running the engine's client, and is closed by
its owner: stopped by pid, its containers removed, its mounts and empty cgroups
cleaned up.  Nothing here is pytest's: the fixtures decide what to skip.
"""
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time

IMAGE = "localhost/ocirt-busybox:latest"
DOCKERD = "/usr/sbin/dockerd"
DOCKER = "/usr/bin/docker"
HAVE_PODMAN = bool(shutil.which("podman") and shutil.which("conmon"))
HAVE_CONTAINERD = bool(shutil.which("containerd") and shutil.which("ctr"))
HAVE_DOCKER = os.access(DOCKERD, os.X_OK) and os.access(DOCKER, os.X_OK)


def _listing(directory):
    return set(os.listdir(directory)) if os.path.isdir(directory) else None


@contextlib.contextmanager
def seccomp_cache_as_found():
    """The host root's seccomp cache (oci_runtime/seccomp_cache.py) left as it was
    found: the runtime keeps the programs its containers compiled, for those that
    come after; the ones a test's or the benchmark's containers (and the engines
    they drive) compiled go at the end, and the directories too if they were made."""
    from oci_runtime import seccomp_cache

    cache = seccomp_cache.directory("")  # the host root's (a rootless caller's is beside its --root)
    base = os.path.dirname(cache)
    before, base_before = _listing(cache), _listing(base)
    try:
        yield
    finally:
        for name in (_listing(cache) or set()) - (before or set()):
            os.unlink(os.path.join(cache, name))
        for directory, existed in ((cache, before), (base, base_before)):
            if existed is None and os.path.isdir(directory) and not os.listdir(directory):
                os.rmdir(directory)


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
runtime = "{default}"
runtime_supports_json = [{names}]

[engine.runtimes]
{runtimes}
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


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def remove_empty_cgroups(name):
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
    if log is not None:
        log.close()
    with open("/proc/self/mounts") as f:
        mounts = sorted((line.split()[1] for line in f if line.split()[1].startswith(base + "/")), reverse=True)
    for mount in mounts:
        subprocess.run(["umount", "-l", mount])


class Podman:
    """podman with a private containers.conf/storage.conf; ``runtimes`` maps names to
    binaries (the first is the default); the image is imported from ``rootfs``."""

    def __init__(self, base, runtimes, rootfs, cgroup_manager="cgroupfs"):
        self.base = base
        os.makedirs(os.path.join(base, "tmp"))
        names = list(runtimes)
        with open(os.path.join(base, "containers.conf"), "w") as f:
            f.write(CONTAINERS_CONF.format(
                base=base, cgroup_manager=cgroup_manager, default=names[0],
                names=", ".join(f'"{n}"' for n in names),
                runtimes="\n".join(f'{n} = ["{path}"]' for n, path in runtimes.items())))
        with open(os.path.join(base, "storage.conf"), "w") as f:
            f.write(STORAGE_CONF.format(base=base))
        self.env = dict(os.environ, CONTAINERS_CONF=os.path.join(base, "containers.conf"),
                        CONTAINERS_STORAGE_CONF=os.path.join(base, "storage.conf"))
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["podman", "import", "-", IMAGE], env=self.env, stdin=tar.stdout, check=True,
                       capture_output=True)
        tar.wait()

    def __call__(self, *args, timeout=60, **kw):
        return subprocess.run(["podman", *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, **kw)

    def close(self):
        self("rm", "--all", "--force")
        self("system", "reset", "--force")
        remove_empty_cgroups("libpod_parent")  # podman's cgroupfs parent (conmon's cgroup lives there)


class Containerd:
    """A private containerd (CRI off unless ``config`` says otherwise), driven by ctr
    on its own socket; ``import_image`` takes an OCI archive."""

    def __init__(self, base, config=CONTAINERD_TOML, extra_path=None):
        self.base = base
        os.makedirs(base, exist_ok=True)
        with open(os.path.join(base, "config.toml"), "w") as f:
            f.write(config.format(base=base))
        env = dict(os.environ, PATH=f"{extra_path}:{os.environ['PATH']}") if extra_path else None
        self.log = open(os.path.join(base, "log"), "w")
        self.daemon = subprocess.Popen(["containerd", "--config", os.path.join(base, "config.toml")],
                                       stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True,
                                       env=env)
        self.address = os.path.join(base, "c.sock")
        self.state_root = os.path.join(base, "runtime-state")
        if not wait_until(lambda: self("version").returncode == 0 or self.daemon.poll() is not None, 20) \
                or self.daemon.poll() is not None:
            self.close()
            raise RuntimeError("containerd did not come up: " + open(os.path.join(base, "log")).read()[-2000:])

    def __call__(self, *args, timeout=60, **kw):
        return subprocess.run(["ctr", "--address", self.address, *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, **kw)

    def import_image(self, archive):
        self("images", "import", "--base-name", IMAGE.rsplit(":", 1)[0], archive).check_returncode()

    def close(self):
        if self.daemon.poll() is None:
            for task in self("tasks", "ls", "-q").stdout.split():
                self("tasks", "kill", "-s", "SIGKILL", task)
                self("tasks", "rm", "-f", task)
            for container in self("containers", "ls", "-q").stdout.split():
                self("containers", "rm", container)
        stop_daemon(self.daemon, self.log, self.base)


class Dockerd:
    """A private dockerd (Debian's docker.io 20.10) with ``runtimes`` added by name:
    its own data-root, exec-root, socket and pid file under ``base`` (keep it short:
    sockets live there), no iptables, no bridge, containers under the cgroup parent
    ``/<cgroup_parent>``; the image is imported from ``rootfs``."""

    def __init__(self, base, runtimes, rootfs, cgroup_parent):
        self.base, self.cgroup_parent = base, cgroup_parent
        os.makedirs(os.path.join(base, "cli"))
        with open(os.path.join(base, "daemon.json"), "w") as f:
            json.dump({"deprecated-key-path": os.path.join(base, "key.json")}, f)
        with open(os.path.join(base, "cli", "config.json"), "w") as f:
            f.write("{}\n")  # the client's (DOCKER_CONFIG): podman reads it too when both are in one environment
        added = [arg for name, path in runtimes.items() for arg in ("--add-runtime", f"{name}={path}")]
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{base}/docker.sock", DOCKER_CONFIG=f"{base}/cli")
        self.log = open(os.path.join(base, "dockerd.log"), "w")
        self.daemon = subprocess.Popen(
            [DOCKERD, "--config-file", f"{base}/daemon.json", "--host", f"unix://{base}/docker.sock",
             "--group", "root", "--data-root", f"{base}/root", "--exec-root", f"{base}/exec",
             "--pidfile", f"{base}/docker.pid", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
             "--ip-forward=false", "--bridge=none", "--exec-opt", "native.cgroupdriver=cgroupfs",
             "--cgroup-parent", f"/{cgroup_parent}", "--oom-score-adjust=0", *added],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            env=self.env)
        if not wait_until(lambda: self("version").returncode == 0 or self.daemon.poll() is not None, 60) \
                or self.daemon.poll() is not None:
            self.log.flush()
            text = open(os.path.join(base, "dockerd.log")).read()[-2000:]
            self.close()
            raise RuntimeError("dockerd did not come up: " + text)
        tarball = os.path.join(base, "busybox.tar")
        subprocess.run(["tar", "-C", str(rootfs), "-cf", tarball, "."], check=True)
        if self("import", tarball, IMAGE).returncode != 0:
            self.close()
            raise RuntimeError("docker import of the busybox rootfs failed")

    def __call__(self, *args, timeout=90, script=False, **kw):
        argv = [DOCKER, *args]
        if script:  # -t needs a terminal on the client's stdin
            argv = ["script", "-qec", " ".join(argv), "/dev/null"]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout,
                              stdin=kw.pop("stdin", subprocess.DEVNULL), **kw)

    def close(self):
        """Stops everything; returns the cgroups that could not be removed."""
        if self.daemon.poll() is None:
            ids = self("ps", "-aq").stdout.split()
            if ids:
                self("rm", "-f", *ids)
        stop_daemon(self.daemon, self.log, self.base)  # dockerd stops its own containerd
        left = remove_empty_cgroups(self.cgroup_parent)
        shutil.rmtree(self.base, ignore_errors=True)
        return left
