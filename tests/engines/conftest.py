"""The engines' private daemons and configurations as fixtures for tests/engines/:
podman (through conmon) and containerd (through containerd-shim-runc-v2), each
with a private configuration and state (nothing in /etc changes), on an image
imported from the busybox rootfs; Docker's private dockerd.  How each is set up
is tests/enginekit.py's (the benchmark's engine rows use the same).

In the systemd lane (OCI_RUNTIME_TEST_SYSTEMD=1, `make test-systemd`) podman uses its
systemd cgroup manager and containerd's runc shim is told SystemdCgroup (ctr's
--runc-systemd-cgroup), so oci-runtime gets --systemd-cgroup and slice:prefix:name
paths; the engines' storage then sits on a tmpfs (the VM's root is an overlayfs,
which overlayfs refuses as an upper directory)."""
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import RUNTIME, SYSTEMD_MODE
from enginekit import (HAVE_CONTAINERD, HAVE_DOCKER, HAVE_PODMAN, IMAGE, Containerd, Dockerd,
                       Podman)


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
    engine = Podman(os.path.join(engines_dir, "podman"), {"oci-runtime": RUNTIME}, busybox_template / "rootfs",
                    cgroup_manager="systemd" if SYSTEMD_MODE else "cgroupfs")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def ctr(engines_dir, podman):
    if not HAVE_CONTAINERD:
        pytest.skip("containerd not installed (make test installs it)")
    engine = Containerd(os.path.join(engines_dir, "containerd"))
    archive = os.path.join(engine.base, "image.tar")
    podman("save", "--format", "oci-archive", "-o", archive, IMAGE).check_returncode()
    engine.import_image(archive)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def docker(busybox_template):
    """A private dockerd (enginekit.Dockerd) with oci-runtime added as "ocirt" and,
    where installed, runc as "runc2"; containers under a test-owned cgroup parent.
    Calling it runs the docker CLI."""
    if SYSTEMD_MODE:
        pytest.skip("the systemd lane runs podman and containerd")
    if not HAVE_DOCKER:
        pytest.skip("Debian's docker.io is not installed (make test installs it)")
    tag = uuid.uuid4().hex[:8]
    runtimes = {"ocirt": RUNTIME}
    if shutil.which("runc"):
        runtimes["runc2"] = "/usr/sbin/runc"  # runc beside it, on the same daemon
    try:
        engine = Dockerd(f"/tmp/ocirt-docker-{tag}", runtimes, busybox_template / "rootfs", f"ocirt-docker-{tag}")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield engine
    left_cgroups = engine.close()
    assert not left_cgroups, f"containers' cgroups left: {left_cgroups}"
