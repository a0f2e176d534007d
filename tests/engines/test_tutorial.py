"""docs/tutorial.md is true: its `sh` blocks run, in order, as one shell script
(set -e), from an empty directory holding busybox.tar (an OCI archive built here
from the busybox rootfs, named docker.io/library/busybox:latest as `podman save`
or skopeo would name it).

The commands run exactly as written.  Around them only the environment differs
from a reader's machine: oci-runtime's state goes to this test's own --root (a
shell function in front of the command), and podman, ctr and docker talk to the
private daemons and configurations of tests/engines/conftest.py.  A block for an
engine this host lacks (```sh podman / containerd / docker) is left out, and said."""
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import CGROUP_ROOT, RUNTIME, SYSTEMD_MODE
from engines.test_kubernetes_cri import _image_archive

TUTORIAL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "docs", "tutorial.md")

pytestmark = pytest.mark.skipif(SYSTEMD_MODE, reason="runs in the main lane")


def blocks():
    """[(engine or "", text)] of the tutorial's ```sh blocks, in order."""
    with open(TUTORIAL) as f:
        text = f.read()
    return [(m.group(1) or "", m.group(2)) for m in re.finditer(r"^```sh(?: (\w+))?\n(.*?)^```$", text, re.M | re.S)]


def _engine(request, name):
    try:
        return request.getfixturevalue(name)
    except pytest.skip.Exception:
        return None


def test_the_tutorial_runs_as_written(request, busybox_template):
    engines = {"podman": _engine(request, "podman"), "containerd": _engine(request, "ctr"),
               "docker": _engine(request, "docker")}
    work = tempfile.mkdtemp(prefix="ocirt-tutorial-")
    root = os.path.join(work, ".state")
    left = []
    try:
        _image_archive(str(busybox_template / "rootfs"), os.path.join(work, "busybox.tar"),
                       "docker.io/library/busybox:latest", {"Cmd": ["sh"], "Env": ["PATH=/usr/bin:/bin"]})
        env = dict(os.environ, PATH=os.path.dirname(RUNTIME) + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
        if engines["podman"]:
            env.update({k: v for k, v in engines["podman"].env.items() if k.startswith("CONTAINERS_")})
        if engines["containerd"]:
            env["CONTAINERD_ADDRESS"] = engines["containerd"].address
        if engines["docker"]:
            env.update(DOCKER_HOST=engines["docker"].env["DOCKER_HOST"],
                       DOCKER_CONFIG=engines["docker"].env["DOCKER_CONFIG"])
        script = ["set -eu", f'oci-runtime() {{ command oci-runtime --root "{root}" "$@"; }}']
        left_out = []
        for engine, text in blocks():
            if engine and not engines[engine]:
                left_out.append(engine)
                continue
            script.append(text)
        result = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, capture_output=True,
                                text=True, timeout=600, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        assert "hello from oci-runtime: pid 1, host " in out
        assert '"status": "created"' in out and "1 sleep 300" in " ".join(out.split())
        for engine, line in (("podman", "hello from podman"), ("podman", "hello from a podman image"),
                             ("containerd", "hello from containerd"), ("docker", "hello from docker")):
            if engines[engine]:
                assert line in out, out + result.stderr
        if left_out:
            pytest.skip(f"ran without the {', '.join(sorted(set(left_out)))} sections: not installed here")
    finally:
        if os.path.isdir(root):
            for container_id in os.listdir(root):
                subprocess.run([RUNTIME, "--root", root, "delete", "--force", container_id], capture_output=True)
        if engines["podman"]:
            engines["podman"]("rmi", "-f", "docker.io/library/busybox:latest")
        if engines["containerd"]:
            engines["containerd"]("images", "rm", "docker.io/library/busybox:latest")
        if engines["docker"]:
            engines["docker"]("rmi", "-f", "tutorial-busybox")
        left = [h for h in os.listdir(CGROUP_ROOT) if os.path.isdir(os.path.join(CGROUP_ROOT, h, "tutorial"))]
        for hierarchy in left:
            try:
                os.rmdir(os.path.join(CGROUP_ROOT, hierarchy, "tutorial"))
            except OSError:
                pass
        shutil.rmtree(work, ignore_errors=True)
    assert not left, f"the tutorial's cgroup parent /tutorial was left in {left}"
