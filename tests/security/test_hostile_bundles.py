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


def test_a_symlinked_rootfs_is_followed_but_mounts_stay_in_the_container(rt, tmp_path):
    bundle = rt.bundle(["sh", "-c", "mkdir -p /tmp/x && mount -t tmpfs none /tmp/x 2>/dev/null; "
                                    "cat /proc/self/mountinfo | wc -l"],
                       edit=lambda c: c["mounts"].append(
                           {"destination": "/mnt-from-config", "type": "tmpfs", "source": "tmpfs"}))
    real = tmp_path / "real-rootfs"
    shutil.move(str(bundle / "rootfs"), real)
    os.symlink(real, bundle / "rootfs")
    with open("/proc/self/mountinfo") as f:
        before = f.read()
    assert rt.run(bundle).returncode == 0
    assert (real / "mnt-from-config").is_dir()  # the config's mount point was made in the real rootfs
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
