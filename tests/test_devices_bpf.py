"""The cgroup v2 eBPF device filter, loaded into the real kernel.

On a hybrid host the unified hierarchy is cgroup2 too, and device programs
attached there are enforced for its members, so the filter is tested here on
every host, not only in the v2 lane.
"""
import errno
import os
import uuid

import pytest

from oci_runtime.cgroups import devices_bpf

UNIFIED = next((p for p in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")
                if os.path.exists(os.path.join(p, "cgroup.controllers"))), None)
pytestmark = pytest.mark.skipif(os.geteuid() != 0 or UNIFIED is None, reason="needs root and cgroup2")


@pytest.fixture
def cgroup2_dir():
    path = os.path.join(UNIFIED, f"oci-runtime-test-bpf-{uuid.uuid4().hex[:8]}")
    os.mkdir(path)
    yield path
    os.rmdir(path)


def try_open_in(cgroup_dir, device, flags=os.O_RDONLY):
    """Open ``device`` from a child placed in ``cgroup_dir``; returns 0 or the errno."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            with open(os.path.join(cgroup_dir, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
            os.close(os.open(device, flags))
        except OSError as exc:
            code = exc.errno
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_rules_are_enforced_last_match_wins(cgroup2_dir):
    rules = [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},   # null
        {"allow": True, "type": "c", "major": 1, "minor": None, "access": "r"},  # mem major, read only
        {"allow": False, "type": "c", "major": 1, "minor": 8, "access": "rwm"},  # random: denied again
    ]
    devices_bpf.load_and_attach(cgroup2_dir, rules)
    assert try_open_in(cgroup2_dir, "/dev/null", os.O_RDWR) == 0
    assert try_open_in(cgroup2_dir, "/dev/zero") == 0                    # 1:5 read via 1:* r
    assert try_open_in(cgroup2_dir, "/dev/zero", os.O_WRONLY) == errno.EPERM  # no w on 1:*
    assert try_open_in(cgroup2_dir, "/dev/random") == errno.EPERM         # the later deny wins
    assert try_open_in(cgroup2_dir, "/dev/tty") == errno.EPERM            # 5:0 never allowed


def test_allow_all(cgroup2_dir):
    devices_bpf.load_and_attach(cgroup2_dir, [{"allow": True, "access": "rwm"}])
    assert try_open_in(cgroup2_dir, "/dev/random") == 0
