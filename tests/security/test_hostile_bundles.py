"""Bundles built to hurt the host: a symlinked rootfs, a huge config.json, a
device node for a host disk smuggled into the image."""
import os
import shutil

from oci_runtime.config import MAX_CONFIG_BYTES


def host_disk():
    """(major, minor) of a real block device of this host, or None."""
    for name in sorted(os.listdir("/sys/block")):
        try:
            with open(f"/sys/block/{name}/dev") as f:
                major, minor = f.read().strip().split(":")
        except OSError:
            continue
        return int(major), int(minor)
    return None


def test_a_disk_node_in_the_image_is_useless_inside(rt):
    disk = host_disk()
    assert disk, "this host has no block device to try"
    bundle = rt.bundle(["sh", "-c", "head -c 512 /hostdisk > /dev/null 2>&1 && echo READ || echo denied; "
                                    "echo x > /hostdisk 2>/dev/null && echo WROTE || echo denied"])
    os.mknod(bundle / "rootfs" / "hostdisk", 0o666 | 0o060000, os.makedev(*disk))  # S_IFBLK
    out = rt.run(bundle).stdout
    assert "READ" not in out and "WROTE" not in out  # the device cgroup refuses what config.json did not list
    assert out.split() == ["denied", "denied"]


def test_a_symlinked_rootfs_is_refused_before_anything_is_mounted(rt, tmp_path):
    """A rootfs reached through a symlink could be re-pointed between the check and
    the mounts: refused as runc does (issue 18), with nothing made or mounted."""
    bundle = rt.bundle(["true"], edit=lambda c: c["mounts"].append(
        {"destination": "/mnt-from-config", "type": "tmpfs", "source": "tmpfs"}))
    real = tmp_path / "real-rootfs"
    shutil.move(str(bundle / "rootfs"), real)
    os.symlink(real, bundle / "rootfs")
    with open("/proc/self/mountinfo") as f:
        before = f.read()
    result = rt.run(bundle, check=False)
    assert result.returncode == 1
    assert "root.path: invalid rootfs: not an absolute path, or a symlink" in result.stderr
    assert not (real / "mnt-from-config").exists()  # no mount point made in the real rootfs
    with open("/proc/self/mountinfo") as f:
        assert f.read() == before  # and no mount reached the host's table


def test_a_huge_config_is_refused_without_reading_it_all(rt):
    bundle = rt.bundle(["true"])
    with open(bundle / "config.json", "r+b") as f:
        f.seek(MAX_CONFIG_BYTES + 10)
        f.write(b" ")  # sparse: costs no disk
    container_id = rt.new_id()
    result = rt.cmd("create", "--bundle", str(bundle), container_id)
    assert result.returncode == 1
    assert "config.json: larger than 16 MiB" in result.stderr
    assert not os.path.exists(rt.state_dir(container_id))
