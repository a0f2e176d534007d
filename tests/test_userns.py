"""User namespaces: mappings written by the parent, container root mapped to a host user."""
import os
import pathlib
import shutil
import tempfile

import pytest

HOST_BASE = 100000
SIZE = 65536


@pytest.fixture
def open_dir(rt):
    """A bundle parent that a mapped (non-root on the host) container root can traverse.
    pytest's own tmp dirs are 0700, which the mapped root could not enter."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=f"ocirt-userns-{rt.tag}-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path)


def chown_tree(root, uid, gid):
    for directory, dirs, files in os.walk(root):
        os.lchown(directory, uid, gid)
        for name in dirs + files:
            os.lchown(os.path.join(directory, name), uid, gid)


def with_userns(config):
    config["linux"]["namespaces"].append({"type": "user"})
    config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": HOST_BASE, "size": SIZE}]
    config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": HOST_BASE, "size": SIZE}]


def userns_bundle(rt, open_dir, args, **process):
    bundle = rt.bundle(args, edit=with_userns, base=open_dir, **process)
    chown_tree(bundle / "rootfs", HOST_BASE, HOST_BASE)
    return bundle


def test_container_root_is_a_mapped_host_user(rt, open_dir):
    bundle = userns_bundle(rt, open_dir, ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id; "
                                          "ls -ln /etc/passwd; touch /root/written && echo wrote"])
    out = rt.run(bundle).stdout.splitlines()
    assert out[0].split() == ["0", str(HOST_BASE), str(SIZE)]
    assert out[1].split() == ["0", str(HOST_BASE), str(SIZE)]
    assert out[2].startswith("uid=0(root) gid=0(root)")
    assert out[3].split()[2:4] == ["0", "0"]  # rootfs files owned by the mapped root
    assert out[4] == "wrote"
    assert os.stat(bundle / "rootfs" / "root" / "written").st_uid == HOST_BASE


def test_host_sees_the_mapped_uid(rt, open_dir):
    bundle = userns_bundle(rt, open_dir, ["sleep", "60"], user={"uid": 1000, "gid": 1000})
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    pid = rt.state(container_id)["pid"]
    with open(f"/proc/{pid}/status") as f:
        fields = {line.split(":")[0]: line.split(":")[1].split() for line in f}
    assert fields["Uid"][0] == str(HOST_BASE + 1000)
    assert fields["Gid"][0] == str(HOST_BASE + 1000)


def test_capabilities_in_a_user_namespace(rt, open_dir):
    caps = {name: ["CAP_KILL", "CAP_NET_ADMIN"] for name in ("bounding", "effective", "permitted")}
    bundle = userns_bundle(rt, open_dir, ["grep", "CapEff", "/proc/self/status"], capabilities=caps)
    assert int(rt.run(bundle).stdout.split()[1], 16) == (1 << 5) | (1 << 12)


def test_joining_an_existing_user_namespace(rt, open_dir):
    first = userns_bundle(rt, open_dir, ["sleep", "60"])
    first_id = rt.create(first)
    pid = rt.state(first_id)["pid"]

    def join(config):
        config["linux"]["namespaces"].append({"type": "user", "path": f"/proc/{pid}/ns/user"})
    second = rt.bundle(["sh", "-c", "cat /proc/self/uid_map; readlink /proc/self/ns/user"],
                       edit=join, base=open_dir)
    chown_tree(second / "rootfs", HOST_BASE, HOST_BASE)
    out = rt.run(second).stdout.split()
    assert out[:3] == ["0", str(HOST_BASE), str(SIZE)]
    assert out[3] == os.readlink(f"/proc/{pid}/ns/user")


def test_exec_into_a_user_namespaced_container(rt, open_dir):
    bundle = userns_bundle(rt, open_dir, ["sleep", "60"])
    container_id = rt.create(bundle)
    rt.cmd("start", container_id, check=True)
    result = rt.cmd("exec", container_id, "sh", "-c", "id -u; cat /proc/self/uid_map; touch /root/exec-wrote")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:4] == ["0", "0", str(HOST_BASE), str(SIZE)]
    assert os.stat(bundle / "rootfs" / "root" / "exec-wrote").st_uid == HOST_BASE
