"""What the runtime does not hold itself, a container cannot be given
(oci_runtime/own_privileges.py): refused host-side, before anything is made,
with the capabilities or the hard limit to ask for instead -- not capset's or
setrlimit's bare "operation not permitted" from inside the init.

This project's CI root lacks CAP_SYS_RESOURCE (its bounding set, and so its
hard rlimits are fixed): the tests use that, and skip with the reason where a
host's root has it."""
import resource

import pytest

from test_bad_input import assert_failed_cleanly, create
from test_userns import open_dir, userns_bundle  # noqa: F401 - open_dir is a fixture

CAP_SYS_RESOURCE = 24


def _own(field):
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith(field + ":")).split()[1], 16)


LACKS_SYS_RESOURCE = not _own("CapBnd") & (1 << CAP_SYS_RESOURCE)
needs_a_root_without_sys_resource = pytest.mark.skipif(
    not LACKS_SYS_RESOURCE, reason="this host's root holds CAP_SYS_RESOURCE: nothing it cannot give")

ALL_BUT = ["CAP_CHOWN", "CAP_KILL", "CAP_SYS_RESOURCE", "CAP_NET_BIND_SERVICE"]


@needs_a_root_without_sys_resource
def test_a_capability_the_runtime_lacks_is_refused_with_what_to_drop(rt):
    caps = {name: list(ALL_BUT) for name in ("bounding", "effective", "permitted")}
    bundle = rt.bundle(["true"], capabilities=caps)
    assert_failed_cleanly(rt, create(rt, bundle), "process.capabilities: unable to apply caps: operation not "
                          "permitted: CAP_SYS_RESOURCE is not in this runtime's own bounding set",
                          "--cap-drop SYS_RESOURCE")


@needs_a_root_without_sys_resource
def test_in_a_user_namespace_the_container_may_have_it(rt, open_dir):  # noqa: F811
    """A new user namespace gets a full bounding set from the kernel: not refused,
    and the container's root holds CAP_SYS_RESOURCE there."""
    caps = {name: list(ALL_BUT) for name in ("bounding", "effective", "permitted")}
    bundle = userns_bundle(rt, open_dir, ["sh", "-c", "grep CapEff /proc/self/status"], capabilities=caps)
    effective = int(rt.run(bundle).stdout.split()[1], 16)
    assert effective & (1 << CAP_SYS_RESOURCE)


@needs_a_root_without_sys_resource
def test_a_hard_rlimit_above_the_runtimes_own_is_refused_with_the_most_it_may_be(rt):
    own = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    bundle = rt.bundle(["true"], rlimits=[{"type": "RLIMIT_NOFILE", "soft": own + 10, "hard": own + 10}])
    assert_failed_cleanly(rt, create(rt, bundle), "process.rlimits[0]: error setting rlimit type 7: operation not "
                          f"permitted: RLIMIT_NOFILE {own + 10}:{own + 10} asks for a hard limit above this "
                          f"runtime's own {own}", f"--ulimit nofile={own}:{own}")
    within = rt.bundle(["sh", "-c", "ulimit -n; ulimit -Hn"],
                       rlimits=[{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": own}])
    assert rt.run(within).stdout.split() == ["1024", str(own)]


@needs_a_root_without_sys_resource
def test_exec_is_checked_the_same_way(rt):
    container_id = rt.create(rt.bundle(["sleep", "100"]))
    result = rt.cmd("exec", "--cap", "CAP_SYS_RESOURCE", container_id, "true")
    assert result.returncode == 255 and "CAP_SYS_RESOURCE is not in this runtime's own bounding set" in \
        result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "[Errno" not in result.stderr
