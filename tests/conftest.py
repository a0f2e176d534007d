"""Fixtures for tests that run real containers as root.

Every test gets its own --root, container ids, bundle (a copy of the busybox
rootfs built once per session by bundles/busybox.sh) and cgroup parent.  On
teardown each container is `delete --force`d and the test fails if anything
is left: a state dir (entry under --root), a cgroup, a mount, a process it
started (or one still in its cgroups, or a live child of the test process),
or a file descriptor of the test process itself.

OCI_RUNTIME_UNDER_TEST=/path/to/oci-runtime runs the tests against another
build (say, main's, to see a new security test fail there first).

OCI_RUNTIME_TEST_SYSTEMD=1 (the systemd lane, `make test-systemd`) runs every
command with --systemd-cgroup and gives bundles a ``system.slice:<parent>:<name>``
cgroupsPath; the leak check then also looks for the test's scopes.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME = os.environ.get("OCI_RUNTIME_UNDER_TEST") or os.path.join(os.path.dirname(sys.executable), "oci-runtime")
CGROUP_ROOT = "/sys/fs/cgroup"
SYSTEMD_MODE = os.environ.get("OCI_RUNTIME_TEST_SYSTEMD") == "1"


def pytest_collection_modifyitems(config, items):
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="needs root: creates real namespaces, mounts and cgroups")
    for item in items:
        if "rt" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def busybox_template(tmp_path_factory):
    """The busybox bundle built once from bundles/busybox.sh."""
    out = tmp_path_factory.mktemp("busybox") / "bundle"
    subprocess.run(["sh", os.path.join(REPO, "bundles", "busybox.sh"), str(out), RUNTIME],
                   check=True, capture_output=True)
    return out


def wait_for(predicate, timeout=5.0):
    """Poll ``predicate`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


class ConsoleSocket:
    """An AF_UNIX socket at ``path`` that takes one connection and the pty master
    sent over it (--console-socket), in a thread.  ``close()`` waits for it and
    returns (master fd or None, the message sent with it)."""

    def __init__(self, path):
        self.path = path
        self.received = {}
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(1)
        self.server.settimeout(10)
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        try:
            conn, _ = self.server.accept()
        except OSError:  # closed or timed out: the runtime never connected
            return
        with conn:
            msg, fds, _, _ = socket.recv_fds(conn, 1024, 1)
            self.received.update(fd=fds[0] if fds else None, name=msg)

    def close(self):
        self.thread.join(10)
        self.server.close()
        return self.received.get("fd"), self.received.get("name")


def read_pty(master):
    """Everything the pty's other side wrote, until it is closed (EIO)."""
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the last holder of the slave is gone
            return out
        if not chunk:
            return out
        out += chunk


def cgroup_dirs_named(name):
    """Every directory called ``name`` at the top of any cgroup hierarchy."""
    found = []
    for entry in os.listdir(CGROUP_ROOT):
        path = os.path.join(CGROUP_ROOT, entry, name)
        if os.path.isdir(path):
            found.append(path)
    if os.path.isdir(os.path.join(CGROUP_ROOT, name)):
        found.append(os.path.join(CGROUP_ROOT, name))
    return found


class Runtime:
    """Drives the oci-runtime CLI for one test and remembers what to clean up."""

    def __init__(self, tmp_path, template):
        self.tmp = tmp_path
        self.root = str(tmp_path / "state")
        self.template = template
        self.tag = uuid.uuid4().hex[:8]
        self.cgroup_parent = f"oci-runtime-test-{self.tag}"
        self.ids = []
        self.pids = set()
        self.fds_before = open_fds()
        self.children_before = child_pids()

    # -------------------------------------------------------------- commands
    def cmd(self, *args, check=False, input=None, timeout=30, global_args=(), **kw):
        argv = self.argv(*args, global_args=global_args)
        # Files, not pipes: a created container inherits create's stdio (as with
        # runc), so reading a pipe to EOF would wait for the container to exit.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.run(argv, stdout=out, stderr=err, input=input, text=True,
                                  timeout=timeout, **kw)
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(argv, proc.returncode,
                                                 out.read().decode(errors="replace"),
                                                 err.read().decode(errors="replace"))
        if check and result.returncode != 0:
            raise AssertionError(f"{argv} failed ({result.returncode}): {result.stderr}")
        return result

    def argv(self, *args, global_args=()):
        """The command line of one runtime command on this test's --root (with
        --systemd-cgroup in the systemd lane)."""
        if SYSTEMD_MODE and "--systemd-cgroup" not in global_args:
            global_args = ("--systemd-cgroup", *global_args)
        return [RUNTIME, "--root", self.root, *global_args, *args]

    def new_id(self, prefix="c"):
        container_id = f"{prefix}-{self.tag}-{len(self.ids)}"
        self.ids.append(container_id)
        return container_id

    def bundle(self, args=("true",), name=None, edit=None, base=None, **process):
        """A fresh bundle (own rootfs copy) whose process runs ``args``; under
        ``base`` (default: the test's tmp dir)."""
        base = base or self.tmp
        path = base / (name or f"bundle{len(list(base.glob('bundle*')))}")
        shutil.copytree(self.template / "rootfs", path / "rootfs", symlinks=True)
        with open(self.template / "config.json") as f:
            config = json.load(f)
        config["process"]["args"] = list(args)
        config["process"].update(process)
        config["linux"]["cgroupsPath"] = self.cgroups_path(path.name)
        if edit:
            edit(config)
        self.write_config(path, config)
        return path

    def cgroups_path(self, name):
        """The test's cgroupsPath for ``name``: under its own parent, or, in the systemd
        lane, the scope ``<parent>-<name>.scope`` in system.slice."""
        return f"system.slice:{self.cgroup_parent}:{name}" if SYSTEMD_MODE else f"/{self.cgroup_parent}/{name}"

    @staticmethod
    def write_config(path, config):
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(config, f, indent=1)

    @staticmethod
    def read_config(path):
        with open(os.path.join(path, "config.json")) as f:
            return json.load(f)

    def run(self, bundle, *extra, check=True, **kw):
        container_id = self.new_id()
        result = self.cmd("run", "--bundle", str(bundle), *extra, container_id, **kw)
        if check and result.returncode != 0:
            raise AssertionError(f"run failed ({result.returncode}): {result.stderr}")
        return result

    def create(self, bundle, *extra, container_id=None):
        container_id = container_id or self.new_id()
        self.cmd("create", "--bundle", str(bundle), *extra, container_id, check=True)
        self.pids.add(self.state(container_id)["pid"])
        return container_id

    def state(self, container_id):
        result = self.cmd("state", container_id, check=True)
        return json.loads(result.stdout)

    def state_dir(self, container_id):
        return os.path.join(self.root, container_id)

    @staticmethod
    def with_cgroup_namespace(config):
        """An edit: add a new cgroup namespace (the default spec has one only on a
        pure cgroup v2 host, as runc's), for tests about what the container sees of
        its own cgroup."""
        if not any(ns["type"] == "cgroup" for ns in config["linux"]["namespaces"]):
            config["linux"]["namespaces"].append({"type": "cgroup"})

    @property
    def api(self):
        """The Python API on this test's --root, for steps whose subject is not the
        command line (start a container, read its pids, delete it mid-test).  It is
        this checkout's library even under OCI_RUNTIME_UNDER_TEST."""
        from oci_runtime.api import Runtime as Api

        return Api(root=self.root)

    # -------------------------------------------------------------- teardown
    def cleanup(self):
        for container_id in self.ids:
            self.cmd("delete", "--force", container_id)

    def leftovers(self):
        problems = []
        if os.path.isdir(self.root):
            left = os.listdir(self.root)
            if left:
                problems.append(f"state dirs left in {self.root}: {left}")
        cgroups = cgroup_dirs_named(self.cgroup_parent)
        if SYSTEMD_MODE:
            cgroups += [d for d in all_cgroups() if self.cgroup_parent in d]
            units = subprocess.run(["systemctl", "list-units", "--all", "--plain", "--no-legend",
                                    f"{self.cgroup_parent}-*"], capture_output=True, text=True).stdout.split()
            if units:
                problems.append(f"systemd units left: {units}")
        if cgroups:
            problems.append(f"cgroups left: {sorted(set(cgroups))}")
        with open("/proc/self/mountinfo") as f:
            mounts = [line for line in f if str(self.tmp) in line]
        if mounts:
            problems.append(f"mounts left: {mounts}")
        for pid in self.pids | processes_in_cgroup(self.cgroup_parent) | (child_pids() - self.children_before):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                        problems.append(f"process {pid} still alive")
            except FileNotFoundError:
                pass
        fds = {fd: target for fd, target in open_fds().items() if self.fds_before.get(fd) != target}
        if fds:
            problems.append(f"fds of the test process left open: {fds}")
        return problems


def all_cgroups():
    """Every cgroup directory on the host (process_api's subtree is the machine's)."""
    found = set()
    for hierarchy in os.listdir(CGROUP_ROOT):
        for directory, subdirs, _files in os.walk(os.path.join(CGROUP_ROOT, hierarchy)):
            subdirs[:] = [d for d in subdirs if d != "process_api"]
            found.add(directory)
    return found


def mount_table():
    """This process's mount table, sorted lines of mountinfo."""
    with open("/proc/self/mountinfo") as f:
        return sorted(f.read().splitlines())


def open_fds():
    """{fd: target} of this (the calling) process, to catch leaked descriptors."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except FileNotFoundError:
            pass  # the fd listdir itself used
    return found


def child_pids():
    """Live children of this process (runtime commands a test left running)."""
    me = str(os.getpid())
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if fields[1] == me and fields[0] not in ("Z", "X"):
                found.add(int(name))
    return found


def processes_in_cgroup(name):
    """Live (not zombie) pids whose cgroup path in any hierarchy contains ``name``."""
    found = set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cgroup") as f:
                    if name not in f.read():
                        continue
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                        found.add(int(pid))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


@pytest.fixture(autouse=True)
def _seccomp_programs_the_test_compiled():
    """What a test's containers left in the runtime's seccomp cache goes (enginekit)."""
    from enginekit import seccomp_cache_as_found

    with seccomp_cache_as_found():
        yield


@pytest.fixture
def rt(tmp_path, busybox_template):
    runtime = Runtime(tmp_path, busybox_template)
    yield runtime
    runtime.cleanup()
    problems = runtime.leftovers()
    assert not problems, "test left things behind: " + "; ".join(problems)
