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
