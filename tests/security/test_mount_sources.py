"""The one host-root step into a container's mount namespace (process/mount_sources.py)
must not let the image steer it.

In a user namespace, a bind source the container's mapped root cannot reach is
opened by a helper running as the host's root.  A source inside the rootfs is the
image's ground: a directory there can be closed to the mapped root (0700, owned by
an unmapped id) and hold a symlink to anywhere on the host.  Followed by the
host's root, it would bind the host's directory into the container."""
import os

from test_mount_compat import open_dir, userns_bundle  # noqa: F401 - open_dir is a fixture


def test_a_source_inside_the_rootfs_is_never_opened_by_the_hosts_root(rt, open_dir):  # noqa: F811
    guarded = open_dir / "host-guarded"  # 0700: what keeps the container's root out
    secret = guarded / "data"
    secret.mkdir(parents=True)
    (secret / "key").write_text("host only\n")
    guarded.chmod(0o700)
    placeholder = "/PLACEHOLDER"
    bundle = userns_bundle(rt, open_dir, ["cat", "/leak/key"], [
        {"destination": "/leak", "type": "bind", "source": placeholder, "options": ["bind", "ro"]}])
    rootfs = bundle / "rootfs"
    closed = rootfs / "closed"
    closed.mkdir()
    os.symlink(str(secret), closed / "to-host")  # the image's symlink, out of the rootfs
    os.lchown(closed, 0, 0)  # the host's root: unmapped, so the mapped root cannot search it
    closed.chmod(0o700)
    config = rt.read_config(bundle)
    config["mounts"][-1]["source"] = str(closed / "to-host")
    rt.write_config(bundle, config)
    result = rt.cmd("run", "--bundle", str(bundle), rt.new_id())
    assert "host only" not in result.stdout
    assert result.returncode == 1, result.stdout
    assert "inside the rootfs" in result.stderr and "Traceback" not in result.stderr
    assert not os.path.isdir(rt.root) or os.listdir(rt.root) == []


def test_delete_of_a_container_without_a_mount_namespace_unmounts_only_its_own(rt, open_dir):  # noqa: F811
    """Without a mount namespace the container's mounts are the host's, and delete
    detaches them (rootfs/host_mounts.py).  Someone who can write the rootfs (another
    container sharing it) waits until delete has listed them, then moves a directory
    holding one away and puts a symlink to the host in its place: delete must not
    follow it and unmount the host's own mount there.  (A fault point holds the
    window open; a path-based umount2 took the host's mount.)"""
    import subprocess
    import threading
    import time

    host_dir = open_dir / "host"
    (host_dir / "b").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "hosts-own", str(host_dir / "b")], check=True)

    def edit(config):
        config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] != "mount"]
        config["mounts"].append({"destination": "/a/b", "type": "tmpfs", "source": "tmpfs"})
    bundle = rt.bundle(["sleep", "60"], edit=edit, base=open_dir)
    rootfs = bundle / "rootfs"
    container_id = rt.create(bundle)

    def swap():
        time.sleep(0.5)  # delete is in its 2 s window by now
        os.rename(rootfs / "a", rootfs / "a-moved")  # the container's tmpfs moves with it
        os.symlink(str(host_dir), rootfs / "a")
    racer = threading.Thread(target=swap)
    racer.start()
    raced = rt.cmd("delete", "--force", container_id,
                   env=dict(os.environ, OCI_RUNTIME_FAULT="delete:host-mounts-listed=sleep:2"))
    racer.join()
    with open("/proc/self/mountinfo") as f:
        assert str(host_dir / "b") in [line.split()[4] for line in f]  # the host's own mount survived
    if raced.returncode != 0:  # the moved mount could not be matched: said, and the state kept
        assert "could not unmount" in raced.stderr and "Traceback" not in raced.stderr, raced.stderr
        rt.api.delete(container_id, force=True)  # listed afresh, found where it is now
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    assert str(host_dir / "b") in points
    assert not [p for p in points if p.startswith(str(rootfs))]  # every mount of the container is gone
