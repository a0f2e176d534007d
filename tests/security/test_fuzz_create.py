"""Hostile input, fuzzed through a real `create` (issue 16, "fuzzed, not just sampled").

hypothesis builds config.json documents -- the busybox config with random
fields replaced, random keys added, and the parts that reach the kernel
(mounts, devices, namespaces, cgroupsPath, process, hooks, sysctls, rlimits)
drawn from values that are valid, nearly valid and absurd -- and command lines
for `create`.  Each goes through the real runtime.  The only acceptable
outcomes: success (then `delete --force`), or a non-zero exit with one clear
line on stderr: never a traceback, never Python's "[Errno N]".  After every
example nothing may be left: state dir, cgroup (every cgroup on the host is
compared), mount, process, fd.

OCI_RUNTIME_FUZZ_EXAMPLES sets the number of examples (default 120).
"""
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import all_cgroups, mount_table
from reliability.helpers import shared_rootfs
from test_hostile_input import paths_of

EXAMPLES = int(os.environ.get("OCI_RUNTIME_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

scalars = (st.none() | st.booleans() | st.integers(min_value=-2**66, max_value=2**66)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=24))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)
paths = st.sampled_from(["/proc", "/sys", "/dev", "/dev/pts", "/dev/mqueue", "/dev/shm", "/tmp/x", "/proc/kcore",
                         "/proc/cpuinfo", "/sys/fs/cgroup", "a/../../b", "..", "/", "", "/etc/passwd",
                         "/dev/null", "/x y/\u00e9", "/nul\x00byte", "/" + "n" * 300]) | st.text(max_size=30)
options = st.lists(st.sampled_from(["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "rro", "rprivate",
                                    "shared", "tmpcopyup", "idmap", "remount", "mode=0755", "size=1k", "x=y,z",
                                    "newinstance", "ptmxmode=0666", "strictatime", "nosymfollow", ""])
                   | st.text(max_size=12), max_size=4)
mount = st.fixed_dictionaries({"destination": paths},
                              optional={"type": st.sampled_from(["bind", "tmpfs", "proc", "sysfs", "devpts",
                                                                 "mqueue", "cgroup", "cgroup2", "ext4", "", "nope"]),
                                        "source": st.sampled_from(["tmpfs", "/tmp", "/nonexistent", "proc", "",
                                                                   "/dev/null", "relative"]),
                                        "options": options})
device = st.fixed_dictionaries({"path": paths, "type": st.sampled_from(["c", "b", "p", "u", "x", ""])},
                               optional={"major": st.sampled_from([1, 5, -1, 2**40]),
                                         "minor": st.sampled_from([3, 5, 0, -1]),
                                         "fileMode": st.sampled_from([0o666, 0o7777, -1, 2**33]),
                                         "uid": st.sampled_from([0, 1000, -1]), "gid": st.sampled_from([0, -5])})
namespace_types = st.sampled_from(["pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time", "bogus"])
namespaces = st.lists(st.fixed_dictionaries({"type": namespace_types},
                                            optional={"path": st.sampled_from(["/proc/self/ns/net", "/nonexistent",
                                                                               "", "/proc/1/ns/uts"])}),
                      max_size=9)
hook = st.fixed_dictionaries({"path": st.sampled_from(["/bin/true", "/bin/false", "relative", "", "/nonexistent"])},
                             optional={"args": st.lists(st.text(max_size=6), max_size=2),
                                       "timeout": st.sampled_from([1, 0, -1])})
process_edits = st.fixed_dictionaries({}, optional={
    "args": st.sampled_from([["true"], ["false"], ["/nonexistent"], [""], [], ["sh", "-c", "exit 3"]]),
    "cwd": paths,
    "user": st.fixed_dictionaries({"uid": st.sampled_from([0, 1000, -1, 2**32]),
                                   "gid": st.sampled_from([0, 1000, -1])},
                                  optional={"additionalGids": st.lists(st.integers(-1, 2**32), max_size=3),
                                            "umask": st.integers(-1, 0o1777)}),
    "capabilities": st.dictionaries(st.sampled_from(["bounding", "effective", "permitted", "ambient", "inheritable",
                                                     "nonsense"]),
                                    st.lists(st.sampled_from(["CAP_KILL", "CAP_SYS_ADMIN", "CAP_NOPE", "", "kill"]),
                                             max_size=3), max_size=3),
    "rlimits": st.lists(st.fixed_dictionaries({"type": st.sampled_from(["RLIMIT_NOFILE", "RLIMIT_NOPE", ""]),
                                               "soft": st.integers(-1, 2**65), "hard": st.integers(-1, 2**65)}),
                        max_size=2),
    "env": st.lists(st.text(max_size=10), max_size=3),
    "terminal": st.booleans(),
    "noNewPrivileges": json_values,
})
linux_edits = st.fixed_dictionaries({}, optional={
    "namespaces": namespaces,
    "devices": st.lists(device, max_size=2),
    "sysctl": st.dictionaries(st.sampled_from(["net.ipv4.ip_forward", "kernel.shmmax", "vm.swappiness", "",
                                               "net..x"]), st.text(max_size=5), max_size=2),
    "maskedPaths": st.lists(paths, max_size=2),
    "readonlyPaths": st.lists(paths, max_size=2),
    "rootfsPropagation": st.sampled_from(["private", "rshared", "slave", "bogus", ""]),
    "cgroupsPath": st.sampled_from(["sub", "../../escape", "a:b:c", "", "/", "x" * 300]),
    "resources": st.fixed_dictionaries({}, optional={
        "memory": st.fixed_dictionaries({}, optional={"limit": st.sampled_from([-1, 0, 4096, 2**63])}),
        "pids": st.fixed_dictionaries({}, optional={"limit": st.sampled_from([-1, 0, 1, 2**40])}),
        "devices": st.lists(st.fixed_dictionaries({"allow": json_values}, optional={"access": st.text(max_size=4)}),
                            max_size=2)}),
})


class Harness:
    """One bundle directory per example, a shared rootfs, cgroups under the test's parent."""

    def __init__(self, rt):
        self.rt = rt
        self.rootfs = shared_rootfs(rt)
        self.base = rt.read_config(rt.template)
        self.n = 0
        self.cgroups = all_cgroups()
        self.mounts = mount_table()

    def check(self, config, argv_extra=()):
        rt = self.rt
        self.n += 1
        bundle = rt.tmp / f"fuzz{self.n}"
        bundle.mkdir()
        config.setdefault("root", {})
        if isinstance(config["root"], dict):
            config["root"]["path"] = str(self.rootfs)
        with open(bundle / "config.json", "w") as f:
            json.dump(config, f, ensure_ascii=False)
        container_id = rt.new_id("fz")
        # cwd: the bundle, where a fuzzed relative --pid-file or socket path lands.
        result = rt.cmd("create", "--bundle", str(bundle), *argv_extra, container_id, timeout=30, cwd=bundle)
        text = result.stderr
        assert "Traceback" not in text and "[Errno" not in text, (config, text)
        if result.returncode == 0:
            # A fuzzed command line may have named another id (its flags ate ours).
            for created in set(rt.cmd("list", "-q").stdout.split()) | {container_id}:
                removed = rt.cmd("delete", "--force", created)
                assert removed.returncode == 0, removed.stderr
        else:
            lines = [line for line in text.splitlines() if not line.startswith("warning: ")]
            assert len(lines) == 1 and lines[0].strip(), (config, text)
        problems = rt.leftovers()
        assert not problems, (config, problems)
        assert all_cgroups() == self.cgroups, (config, all_cgroups() ^ self.cgroups)
        assert mount_table() == self.mounts, config


def _with_parent(harness, config):
    """Keep cgroups under the test's parent (a fuzzed cgroupsPath is still prefixed by it)."""
    linux = config.get("linux")
    if isinstance(linux, dict):
        suffix = linux.get("cgroupsPath")
        base = f"/{harness.rt.cgroup_parent}/fz{harness.n}"
        linux["cgroupsPath"] = f"{base}/{suffix}" if isinstance(suffix, str) and suffix else base
    return config


@pytest.fixture
def harness(rt):
    """One per test function, shared by its examples (hypothesis runs them all in one call)."""
    return Harness(rt)


@FUZZ
@given(data=st.data())
def test_fuzzed_configs_through_a_real_create(harness, data):
    config = json.loads(json.dumps(harness.base))
    config["process"]["args"] = ["true"]
    config["process"].update(data.draw(process_edits, label="process"))
    config["linux"].update(data.draw(linux_edits, label="linux"))
    if data.draw(st.booleans(), label="extra mounts"):
        config["mounts"] += data.draw(st.lists(mount, max_size=3), label="mounts")
    if data.draw(st.booleans(), label="hooks"):
        config["hooks"] = data.draw(st.dictionaries(
            st.sampled_from(["prestart", "createRuntime", "createContainer", "startContainer", "poststop", "x"]),
            st.lists(hook, max_size=2), max_size=3), label="hook set")
    config = json.loads(json.dumps(config))  # the draws may share objects with the strategies
    for _ in range(data.draw(st.integers(0, 2), label="replacements")):
        where = data.draw(st.sampled_from([p for p in paths_of(config) if p]), label="path")
        target = config
        for part in where[:-1]:
            target = target[part]
        target[where[-1]] = data.draw(json_values, label="value")
    harness.check(_with_parent(harness, config))


create_flags = st.lists(st.sampled_from(["--pid-file", "/nonexistent/dir/pid", "--console-socket", "/nonexistent.sock",
                                         "--preserve-fds", "3", "-1", "99999", "--no-pivot", "--no-new-keyring",
                                         "--bundle", "--pidfd-socket", "", "--", "-b"])
                        # an argv holds no NUL and no lone surrogate (neither can be encoded into one)
                        | st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                                  max_size=8),
                        max_size=4)


@FUZZ
@given(argv=create_flags)
def test_fuzzed_create_command_lines(harness, argv):
    config = _with_parent(harness, json.loads(json.dumps(harness.base)))
    config["process"]["args"] = ["true"]
    harness.check(config, argv)
