"""/proc, /sys, /dev/pts, /dev/mqueue are what they claim to be (issue 16, findings 3, 7, 8).

Tools in the container and the runtime's own later steps trust these paths, so
a bundle may not put anything else there (runc's checkProcMount, and more), an
image may not turn them into symlinks, and --no-pivot may not leave the
host's procfs reachable for a fresh procfs mount.  Every refusal must leave
nothing behind (the rt fixture checks) and name the destination."""
import os


def without(config, *destinations):
    config["mounts"] = [m for m in config["mounts"] if m["destination"] not in destinations]


def refused(rt, bundle, phrase):
    container_id = rt.new_id()
    result = rt.cmd("run", "-b", str(bundle), container_id, timeout=20)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert phrase in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and "Errno" not in result.stderr
    assert not os.path.exists(rt.state_dir(container_id))
    return result


def test_a_directory_bound_at_proc_is_refused(rt, tmp_path):
    """Finding 3: runc: '"/proc" cannot be mounted because it is not of type proc'."""
    fake = tmp_path / "fakeproc"
    (fake / "sys" / "net" / "ipv4").mkdir(parents=True)
    (fake / "sys" / "net" / "ipv4" / "ip_forward").write_text("0\n")

    def edit(config):
        without(config, "/proc")
        config["mounts"].append({"destination": "/proc", "type": "bind", "source": str(fake),
                                 "options": ["rbind"]})
        config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}

    refused(rt, rt.bundle(["true"], edit=edit), '"/proc" cannot be mounted because it is not of type proc')
    assert (fake / "sys" / "net" / "ipv4" / "ip_forward").read_text() == "0\n"


def test_only_the_right_filesystem_goes_at_proc_sys_pts_and_mqueue(rt):
    cases = (
        ("/proc", {"type": "tmpfs", "source": "tmpfs"}, "not of type proc"),
        ("/sys", {"type": "tmpfs", "source": "tmpfs"}, "not of type sysfs"),
        ("/dev/pts", {"type": "tmpfs", "source": "tmpfs"}, "not of type devpts"),
        ("/dev/mqueue", {"type": "tmpfs", "source": "tmpfs"}, "not of type mqueue"),
    )
    for destination, mount, phrase in cases:
        def edit(config, destination=destination, mount=mount):
            without(config, destination)
            config["mounts"].append(dict(mount, destination=destination))
            if destination == "/sys":
                without(config, "/sys/fs/cgroup")

        refused(rt, rt.bundle(["true"], edit=edit), f'"{destination}" cannot be mounted because it is {phrase}')


def test_the_hosts_sysfs_bound_at_sys_is_accepted(rt):
    """The rootless set-up binds the host's /sys where it cannot mount sysfs: still sysfs."""
    def edit(config):
        without(config, "/sys", "/sys/fs/cgroup")
        config["mounts"].append({"destination": "/sys", "type": "bind", "source": "/sys",
                                 "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})

    out = rt.run(rt.bundle(["sh", "-c", "ls /sys/kernel >/dev/null && echo sysfs-ok"], edit=edit)).stdout
    assert out.strip() == "sysfs-ok"


def test_mounts_inside_proc_are_refused_but_the_lxcfs_files(rt, tmp_path):
    def inside(config):
        config["mounts"].append({"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"})

    refused(rt, rt.bundle(["true"], edit=inside), '"/proc/sys" cannot be mounted because it is inside /proc')
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("emulated by lxcfs\n")

    def lxcfs(config):
        config["mounts"].append({"destination": "/proc/cpuinfo", "type": "bind", "source": str(cpuinfo),
                                 "options": ["bind", "ro"]})

    assert rt.run(rt.bundle(["cat", "/proc/cpuinfo"], edit=lxcfs)).stdout == "emulated by lxcfs\n"


def test_a_symlink_in_the_image_cannot_carry_a_mount_into_proc(rt):
    def edit(config):
        config["mounts"].append({"destination": "/evil/kernel", "type": "tmpfs", "source": "tmpfs"})

    bundle = rt.bundle(["true"], edit=edit)
    os.symlink("/proc/sys", bundle / "rootfs" / "evil")
    refused(rt, bundle, '"/proc/sys/kernel" cannot be mounted because it is inside /proc')


def test_a_symlinked_proc_or_sys_in_the_rootfs_is_refused(rt):
    """Finding 7: runc: 'filesystem "proc" must be mounted on ordinary directory';
    this once ran, and a foreground container hung."""
    for name, fstype in (("proc", "proc"), ("sys", "sysfs")):
        bundle = rt.bundle(["true"])
        rootfs = bundle / "rootfs"
        (rootfs / "elsewhere").mkdir()
        os.rmdir(rootfs / name)
        os.symlink("/elsewhere", rootfs / name)
        refused(rt, bundle, f'filesystem "{fstype}" must be mounted on ordinary directory')
        assert os.listdir(rootfs / "elsewhere") == []


NESTED_PROC_MOUNT = "mkdir -p /tmp/m; unshare -Urmpf mount -t proc proc /tmp/m && echo MOUNTED; true"


def test_no_pivot_leaves_no_procfs_to_mount_anew(rt):
    """Finding 8: under --no-pivot the host's /proc stayed in the container's mount
    namespace, fully visible to the kernel, so an unprivileged process could mount
    a fresh procfs in a user and pid namespace of its own (runc: permission denied)."""
    unprivileged = {"user": {"uid": 1000, "gid": 1000}}
    result = rt.run(rt.bundle(["sh", "-c", NESTED_PROC_MOUNT], **unprivileged), "--no-pivot", check=False)
    assert "MOUNTED" not in result.stdout
    assert "permission denied" in (result.stdout + result.stderr).lower()
    # The container itself still has its own /proc.
    works = rt.run(rt.bundle(["sh", "-c", "grep -c . /proc/self/status >/dev/null && echo ok"]), "--no-pivot")
    assert works.stdout.strip() == "ok"


def test_the_nested_mount_works_where_a_procfs_is_fully_visible(rt):
    """The control for the test above: with nothing masked in /proc, the same command
    does mount (so its refusal above is the runtime's doing, not the command's)."""
    def unmasked(config):
        config["linux"]["maskedPaths"] = []
        config["linux"]["readonlyPaths"] = []
        config["process"]["user"] = {"uid": 1000, "gid": 1000}

    assert "MOUNTED" in rt.run(rt.bundle(["sh", "-c", NESTED_PROC_MOUNT], edit=unmasked)).stdout
