"""CVE-2019-5736 class: a process in the container tries to reach the runtime's
own files (the host's python, the shim library) through /proc/PID/exe and
/proc/PID/map_files while the runtime joins the container (`exec`), and
CVE-2024-21626: a process.cwd through a descriptor the runtime leaked.

The attacker runs as root with every capability in a user namespace whose root
is the host's uid 0 (an identity mapping): the kernel itself then does not
make the joining runtime non-dumpable (its euid does not change), so only the
runtime's own PR_SET_DUMPABLE stands between the attacker and the runtime.  The runtime's process inside
the container is made to linger (fault point ``exec:in-container``) so the
attacker surely sees it; it must still get no handle on the runtime's files.
"""
import hashlib
import os
import sys

import pytest

from oci_runtime import capabilities

ATTACKER = r"""
: > /ready
still() { [ "$(tr '\0' ' ' < $1/cmdline 2>/dev/null)" = "$2" ]; }  # same process after the try?
while :; do
  for p in /proc/[0-9]*; do
    [ "$p" = /proc/$$ ] && continue
    c=$(tr '\0' ' ' < $p/cmdline 2>/dev/null)
    case "$c" in
      *oci-runtime-init*) ;;
      *oci-runtime*|*python*)
        echo "saw $p $c" >> /log
        readlink $p/exe > /tmp/exe 2>&1 && still $p "$c" && echo "EXE-OPEN $p $(cat /tmp/exe)" >> /log
        ls $p/map_files > /tmp/maps 2>&1 && [ -s /tmp/maps ] && still $p "$c" && echo "MAPS-OPEN $p" >> /log
        cat $p/environ > /dev/null 2>&1 && still $p "$c" && echo "ENVIRON-OPEN $p" >> /log;;
    esac
  done
done
"""


def identity_userns_all_caps(config):
    config["linux"]["namespaces"].append({"type": "user"})
    for key in ("uidMappings", "gidMappings"):
        config["linux"][key] = [{"containerID": 0, "hostID": 0, "size": 65536}]
    names = list(capabilities.NAMES[:capabilities.last_cap() + 1])
    config["process"]["capabilities"] = {k: names for k in ("bounding", "effective", "permitted")}


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def runtime_files():
    from oci_runtime import _shim

    return [os.path.realpath(sys.executable), _shim.__file__]


def test_exec_gives_the_container_no_handle_on_the_runtime(rt):
    before = {path: digest(path) for path in runtime_files()}
    bundle = rt.bundle(["sh", "-c", ATTACKER], edit=identity_userns_all_caps)
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    from conftest import wait_for

    assert wait_for(lambda: (bundle / "rootfs" / "ready").exists())
    env = dict(os.environ, OCI_RUNTIME_FAULT="exec:in-container=sleep:1")
    rt.cmd("exec", container_id, "true", env=env, check=True)
    rt.cmd("kill", container_id, "KILL")
    log = (bundle / "rootfs" / "log").read_text() if (bundle / "rootfs" / "log").exists() else ""
    assert "saw " in log, "the attacker never saw the runtime's process: the test proved nothing"
    assert "EXE-OPEN" not in log and "MAPS-OPEN" not in log and "ENVIRON-OPEN" not in log, log
    assert {path: digest(path) for path in runtime_files()} == before


@pytest.mark.parametrize("fd", range(3, 10))
def test_cwd_through_a_leaked_descriptor_is_refused(rt, fd):
    bundle = rt.bundle(["pwd"], cwd=f"/proc/self/fd/{fd}")
    result = rt.run(bundle, check=False)
    if result.returncode == 0:  # chdir worked only if it named a directory of the container
        assert result.stdout.startswith("/") and "unreachable" not in result.stdout
    else:
        assert "cwd" in result.stderr
