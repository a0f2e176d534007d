"""The Kubernetes path: containerd's CRI plugin runs pods through oci-runtime as a
RuntimeClass handler would (`runtime_type = "io.containerd.runc.v2"`,
`options.BinaryName = <oci-runtime>`), driven over the CRI gRPC API the way a
kubelet does (tests/engines/cri.py).

A private containerd 1.6 with its CRI plugin on its own socket, state and
runtime root; the sandbox ("pause") and container images built here from the
busybox rootfs and imported with ctr (no registry); host-network pods, which
need no CNI.  Skipped with the reason where containerd or grpcio is missing."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from conftest import RUNTIME, SYSTEMD_MODE, wait_for
from enginekit import CONTAINERD_TOML, remove_empty_cgroups, stop_daemon
from imagekit import Layout, dir_, reg, sym

pytestmark = pytest.mark.skipif(SYSTEMD_MODE, reason="runs in the main lane (cgroupfs)")

HANDLER = "ociruntime"
IMAGE = "localhost/ocirt-busybox:cri"
PAUSE = "localhost/ocirt-pause:cri"

# The main lane's private containerd (tests/enginekit.py), its CRI plugin on.
CONFIG = CONTAINERD_TOML.replace('disabled_plugins = ["io.containerd.grpc.v1.cri"]\n', "") + """
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # the daemon's root here may not lower oom_score_adj (no CAP_SYS_RESOURCE): cap it at its own
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "{handler}"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{handler}]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{handler}.options]
        BinaryName = "{runtime}"
        Root = "{base}/runtime-root"
  [plugins."io.containerd.grpc.v1.cri".cni]
    conf_dir = "{base}/cni/net.d"
    bin_dir = "{base}/cni/bin"
"""


def _entries(directory):
    """A directory as image layer entries (imagekit), owned by root."""
    found = []
    for here, dirs, files in os.walk(directory):
        for name in sorted(dirs) + sorted(files):
            path = os.path.join(here, name)
            relative = os.path.relpath(path, directory)
            st = os.lstat(path)
            if os.path.islink(path):
                found.append(sym(relative, os.readlink(path)))
            elif os.path.isdir(path):
                found.append(dir_(relative, mode=st.st_mode & 0o7777))
            else:
                with open(path, "rb") as f:
                    found.append(reg(relative, f.read(), mode=st.st_mode & 0o7777))
    return found


def _image_archive(rootfs, out, name, config):
    layout_dir = tempfile.mkdtemp(prefix="ocirt-cri-image-")
    try:
        layout = Layout(layout_dir)
        descriptor = layout.image([_entries(rootfs)], config=config)
        descriptor["annotations"] = {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name}
        layout.index([descriptor])
        subprocess.run(["tar", "-C", layout_dir, "-cf", out, "."], check=True)
    finally:
        shutil.rmtree(layout_dir)


@pytest.fixture(scope="module")
def cri(busybox_template):
    if not (shutil.which("containerd") and shutil.which("ctr")):
        pytest.skip("containerd not installed (make test installs it)")
    try:
        import grpc  # noqa: F401
    except ImportError:
        pytest.skip("grpcio not installed (make test-deps installs it: the CRI client's transport)")
    from engines.cri import RuntimeService

    tag = uuid.uuid4().hex[:8]
    base = f"/tmp/ocirt-cri-{tag}"
    os.makedirs(f"{base}/cni/net.d")
    os.makedirs(f"{base}/logs")
    with open(f"{base}/config.toml", "w") as f:
        f.write(CONFIG.format(base=base, pause=PAUSE, handler=HANDLER, runtime=RUNTIME))
    log = open(f"{base}/containerd.log", "w")
    daemon = subprocess.Popen(["containerd", "--config", f"{base}/config.toml"], stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def ctr(*args):
        return subprocess.run(["ctr", "--address", f"{base}/c.sock", "-n", "k8s.io", *args], capture_output=True,
                              text=True, timeout=120)

    service = None
    try:
        if not wait_for(lambda: ctr("version").returncode == 0 or daemon.poll() is not None, timeout=30) \
                or daemon.poll() is not None:
            pytest.fail("containerd did not come up: " + open(f"{base}/containerd.log").read()[-2000:])
        rootfs = str(busybox_template / "rootfs")
        for name, entrypoint in ((IMAGE, ["sh"]), (PAUSE, ["sleep", "2147483647"])):
            archive = f"{base}/{name.rsplit('/', 1)[1].replace(':', '-')}.tar"
            _image_archive(rootfs, archive, name, {"Entrypoint": entrypoint, "Env": ["PATH=/bin:/usr/bin"]})
            imported = ctr("images", "import", archive)
            assert imported.returncode == 0, imported.stderr
        service = RuntimeService(f"{base}/c.sock")
        assert wait_for(lambda: _cri_answers(service), timeout=30), "the CRI plugin did not answer"
        service.base = base
        service.cgroup_parent = f"/ocirt-cri-{tag}"
        yield service
    finally:
        if service is not None:
            service.close()
        for task in ctr("tasks", "ls", "-q").stdout.split():
            ctr("tasks", "kill", "-s", "SIGKILL", task)
        stop_daemon(daemon, log, base)
        left = remove_empty_cgroups(f"ocirt-cri-{tag}")
        shutil.rmtree(base, ignore_errors=True)
    assert not left, f"cgroups left: {left}"


def _cri_answers(service):
    try:
        service.version()
        return True
    except Exception:  # noqa: BLE001 - grpc's errors while the plugin starts
        return False


def _read(path):
    with open(path) as f:
        return f.read().strip()


def test_the_cri_reports_containerd(cri):
    version = cri.version()
    assert version["runtime_name"] == "containerd" and version["runtime_api_version"] == "v1"


def test_a_pod_runs_through_oci_runtime_with_its_limits(cri):
    uid = uuid.uuid4().hex
    config = cri.sandbox_config("ocirt-pod", uid, "default", f"{cri.base}/logs/{uid}",
                                f"{cri.cgroup_parent}/pod{uid}")
    os.makedirs(f"{cri.base}/logs/{uid}")
    sandbox = cri.run_pod_sandbox(config, HANDLER)
    try:
        assert cri.pod_sandbox_state(sandbox) == 0  # SANDBOX_READY
        runtime_root = os.path.join(cri.base, "runtime-root", "k8s.io")
        state = subprocess.run([RUNTIME, "--root", runtime_root, "state", sandbox], capture_output=True, text=True)
        assert json.loads(state.stdout)["status"] == "running", state.stderr  # the pause container is ours
        container = cri.create_container(sandbox, config, "work", IMAGE, ["sleep", "300"], "work.log",
                                         memory=64 << 20, cpu_quota=50000, cpu_period=100000, cpu_shares=512)
        cri.start_container(container)
        assert cri.container_state(container)[0] == 1  # CONTAINER_RUNNING
        ours = subprocess.run([RUNTIME, "--root", runtime_root, "state", container], capture_output=True, text=True)
        pid = json.loads(ours.stdout)["pid"]
        with open(f"/proc/{pid}/cgroup") as f:
            memory_cgroup = next(line.split(":", 2)[2].strip() for line in f if ":memory:" in line)
        assert memory_cgroup == f"{cri.cgroup_parent}/pod{uid}/{container}"
        assert _read(f"/sys/fs/cgroup/memory{memory_cgroup}/memory.limit_in_bytes") == str(64 << 20)
        assert _read(f"/sys/fs/cgroup/cpu{memory_cgroup}/cpu.cfs_quota_us") == "50000"
        assert _read(f"/sys/fs/cgroup/cpu{memory_cgroup}/cpu.shares") == "512"
        out, err, code = cri.exec_sync(container, ["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
                                                               "echo oops >&2; exit 3"])
        assert (out, err, code) == (f"{64 << 20}\n", "oops\n", 3)
        stats = cri.container_stats(container)
        assert stats["working_set"] > 0 and stats["cpu_ns"] > 0, stats
        started = time.monotonic()
        cri.stop_container(container, timeout=2)
        assert cri.container_state(container)[0] == 2  # CONTAINER_EXITED (sleep ignores TERM as pid 1)
        assert time.monotonic() - started < 30
        cri.remove_container(container)
        assert not os.path.exists(os.path.join(runtime_root, container))
    finally:
        cri.stop_pod_sandbox(sandbox)
        cri.remove_pod_sandbox(sandbox)
    assert not os.path.exists(os.path.join(cri.base, "runtime-root", "k8s.io", sandbox))
    assert wait_for(lambda: not remove_empty_cgroups(cri.cgroup_parent.lstrip("/") + f"/pod{uid}"), timeout=10)
