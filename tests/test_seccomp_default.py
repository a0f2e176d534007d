"""specs/seccomp/default.json: the profile oci-runtime ships (an allow list in the
Docker/podman style).  Ordinary programs run under it; what reaches beyond the
container fails with EPERM even when the container holds the capability."""
import json
import os
import time

import pytest

from conftest import REPO

PROFILE = os.path.join(REPO, "specs", "seccomp", "default.json")

SCRIPT = """
grep Seccomp: /proc/self/status
mkdir /tmp/d && echo mkdir-ok
(true &); wait; echo fork-ok
cat /proc/self/stat > /dev/null && echo read-ok
mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>&1; echo mount-rc=$?
unshare -m true 2>&1; echo unshare-rc=$?
"""


def load():
    with open(PROFILE) as f:
        return json.load(f)


def with_sys_admin(config):
    """CAP_SYS_ADMIN, so that only the profile can be what refuses mount and unshare."""
    for key in ("bounding", "effective", "permitted"):
        config["process"]["capabilities"][key].append("CAP_SYS_ADMIN")
    config["linux"]["seccomp"] = load()


@pytest.mark.parametrize("nnp", [True, False])
def test_ordinary_programs_run_and_escapes_are_refused(rt, nnp):
    out = rt.run(rt.bundle(["sh", "-c", SCRIPT], noNewPrivileges=nnp, edit=with_sys_admin)).stdout
    assert "Seccomp:\t2" in out
    assert "mkdir-ok" in out and "fork-ok" in out and "read-ok" in out
    assert "mount-rc=0" not in out and "Operation not permitted" in out
    assert "unshare-rc=0" not in out


def test_without_the_profile_the_same_container_may_mount(rt):
    """The control: proves the refusals above come from the profile."""
    def edit(config):
        with_sys_admin(config)
        del config["linux"]["seccomp"]

    out = rt.run(rt.bundle(["sh", "-c", SCRIPT], edit=edit)).stdout
    assert "mount-rc=0" in out and "unshare-rc=0" in out


def test_the_profile_compiles_fast():
    from oci_runtime import seccomp

    profile = load()
    seccomp.check(profile)
    start = time.perf_counter()
    fd, _ = seccomp.compile_profile(profile)
    elapsed = time.perf_counter() - start
    os.close(fd)
    assert elapsed < 0.1, f"compiling the default profile took {elapsed * 1000:.0f} ms"
