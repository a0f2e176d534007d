"""A rootless runtime can do nothing its user could not do without it
(docs/rootless.md, docs/security.md): each test is an attempt that must fail,
and a check that what it aimed at is untouched."""
import os

from conftest import wait_for
from rootless.test_rootless_runtime import _clean


def test_a_user_cannot_reach_roots_containers(rl, rt):
    """root's --root is 0700 (as runc's): a user cannot read, signal or delete what
    is kept there, even knowing the id."""
    container_id = rt.create(rt.bundle(["sleep", "100"]))
    assert os.stat(rt.root).st_mode & 0o777 == 0o700
    for args in (("state", container_id), ("kill", container_id, "KILL"), ("delete", "--force", container_id),
                 ("list",)):
        result = rl.cmd("--root", rt.root, *args)
        assert result.returncode == 1 and "Permission denied" in result.stderr, (args, result.stdout, result.stderr)
        _clean(result)
    assert rt.state(container_id)["status"] == "created"


def test_a_map_naming_host_root_is_refused(rl):
    """The user namespace cannot map host uid 0 (nor any id not the user's)."""
    def to_host_root(config):
        config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]

    bundle = rl.bundle(["true"], edit=to_host_root)
    result = rl.cmd("run", "--bundle", bundle, rl.new_id())
    assert result.returncode == 1 and "linux.uidMappings: newuidmap refused the map" in result.stderr, result.stderr
    _clean(result)


def test_the_containers_root_is_the_user_on_the_host(rl, tmp_path):
    """A root-owned host file bound read-write into the container: its root (the user
    on the host) can neither write it nor read a root-only one."""
    shared = os.path.join(rl.base, "host-files")
    os.mkdir(shared, 0o755)
    public, private = os.path.join(shared, "public"), os.path.join(shared, "private")
    for path, mode in ((public, 0o644), (private, 0o600)):
        with open(path, "w") as f:
            f.write("host\n")
        os.chmod(path, mode)

    def bind(config):
        config["mounts"].append({"destination": "/host", "type": "bind", "source": shared,
                                 "options": ["rbind", "rw"]})

    bundle = rl.bundle(["sh", "-c", "echo owned > /host/public; cat /host/private; id -u; "
                                    "grep CapEff /proc/self/status; sleep 100"], edit=bind)
    container_id = rl.new_id()
    rl.cmd("run", "-d", "--bundle", bundle, container_id, check=True)
    pid = rl.state(container_id)["pid"]
    with open(f"/proc/{pid}/status") as f:
        uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
    assert set(uids) == {str(rl.user.uid)}
    rl.cmd("kill", container_id, "KILL", check=True)
    assert wait_for(lambda: rl.state(container_id)["status"] == "stopped")
    rl.cmd("delete", container_id, check=True)
    for path in (public, private):
        with open(path) as f:
            assert f.read() == "host\n"
        assert os.stat(path).st_uid == 0


def test_a_user_cannot_use_a_cgroup_not_delegated_to_it(rl):
    """An explicit cgroupsPath is a cgroup the user was given: a parent it does not own
    is an error (not silently skipped), and nothing is made."""
    def undelegated(config):
        config["linux"]["cgroupsPath"] = f"/ocirt-rl-not-delegated-{rl.tag}/c"

    bundle = rl.bundle(["true"], edit=undelegated)
    result = rl.cmd("run", "--bundle", bundle, rl.new_id())
    assert result.returncode == 1 and "Permission denied" in result.stderr, result.stderr
    _clean(result)
    for hierarchy in os.listdir("/sys/fs/cgroup"):
        assert not os.path.exists(os.path.join("/sys/fs/cgroup", hierarchy, f"ocirt-rl-not-delegated-{rl.tag}"))
