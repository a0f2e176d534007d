"""runc compatibility of the rootfs (issue 18): what engines and scripts can tell apart.

Each test reads back from inside the container what it got, and checks what the
host kept; where runc is installed the same bundle is run with it too, as an
extra check (the expected behaviour is asserted literally either way).
"""
import os
import shutil
import subprocess

import pytest
from conftest import cgroup_dirs_named

RUNC = shutil.which("runc")


def with_runc(rt, bundle):
    """runc's run of ``bundle`` (its own --root under the test's tmp dir, its own
    cgroup parent, removed here: runc never removes a parent it made), or None."""
    if RUNC is None:
        return None
    state = str(rt.tmp / "runc-state")
    container_id = f"runc-{rt.tag}-{len(rt.ids)}"
    runc_parent = f"{rt.cgroup_parent}-runc"
    config = rt.read_config(bundle)
    ours = config["linux"]["cgroupsPath"]
    config["linux"]["cgroupsPath"] = f"/{runc_parent}/{container_id}"
    rt.write_config(bundle, config)
    try:
        return subprocess.run([RUNC, "--root", state, "run", "--bundle", str(bundle), container_id],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    finally:
        subprocess.run([RUNC, "--root", state, "delete", "--force", container_id], capture_output=True)
        shutil.rmtree(state, ignore_errors=True)
        for top in cgroup_dirs_named(runc_parent):
            for leaf in os.listdir(top):
                if os.path.isdir(os.path.join(top, leaf)):
                    os.rmdir(os.path.join(top, leaf))
            os.rmdir(top)
        config["linux"]["cgroupsPath"] = ours
        rt.write_config(bundle, config)


def mount_line(output, mountpoint):
    """The container's mountinfo line for ``mountpoint`` as (per-mount options, fstype)."""
    for line in output.splitlines():
        left, sep, right = line.partition(" - ")
        parts = left.split()
        if sep and len(parts) > 5 and parts[4] == mountpoint:
            return parts[5].split(","), right.split()[0]
    raise AssertionError(f"{mountpoint} not mounted in: {output!r}")


# ------------------------------------------------------------------ root.path

@pytest.mark.parametrize("layout", ["link", "through-link"])
def test_root_path_through_a_symlink_is_refused(rt, layout):
    bundle = rt.bundle(["true"])
    if layout == "link":  # root.path is itself a symlink to the rootfs
        os.symlink("rootfs", bundle / "rootlink")
        root_path = "rootlink"
    else:  # root.path passes through a symlinked directory
        os.symlink(".", bundle / "here")
        root_path = "here/rootfs"
    config = rt.read_config(bundle)
    config["root"]["path"] = root_path
    rt.write_config(bundle, config)
    result = rt.cmd("create", "--bundle", str(bundle), rt.new_id())
    assert result.returncode == 1, result
    line = result.stderr.strip()
    assert "config.json: root.path: invalid rootfs: not an absolute path, or a symlink" in line
    assert repr(root_path) in line and str(bundle / "rootfs") in line  # names the value and the fix
    assert "Traceback" not in result.stderr and "Errno" not in result.stderr
    assert os.listdir(rt.root) == [] if os.path.isdir(rt.root) else True
    runc = with_runc(rt, bundle)
    if runc is not None:
        assert runc.returncode != 0 and "invalid rootfs: not an absolute path, or a symlink" in runc.stderr


def test_root_path_that_is_real_runs(rt):
    """The check refuses symlinks only: an absolute real path runs as before."""
    bundle = rt.bundle(["echo", "ran"])
    config = rt.read_config(bundle)
    config["root"]["path"] = str(bundle / "rootfs")
    rt.write_config(bundle, config)
    assert rt.run(bundle).stdout == "ran\n"


# ------------------------------------------------------------------ /dev

def test_dev_ptmx_in_linux_devices_stays_the_pts_link(rt):
    """podman and Docker list /dev/ptmx (c 5:2): as runc, it stays the link to
    the container's own devpts instance, and a pty can be opened through it."""
    def edit(config):
        config["linux"]["devices"] = [{"path": "/dev/ptmx", "type": "c", "major": 5, "minor": 2,
                                       "fileMode": 0o666, "uid": 0, "gid": 0}]
    script = ("readlink /dev/ptmx; stat -c '%t:%T' /dev/pts/ptmx; "
              "exec 3<>/dev/ptmx && ls /dev/pts | grep -c '^[0-9]'")
    bundle = rt.bundle(["sh", "-c", script], edit=edit)
    out = rt.run(bundle).stdout.splitlines()
    assert out == ["pts/ptmx", "5:2", "1"]
    runc = with_runc(rt, bundle)
    if runc is not None:
        assert runc.returncode == 0 and runc.stdout.splitlines() == out, runc


def test_read_only_dev_is_set_up_then_made_read_only(rt):
    """"ro" on the /dev tmpfs: /dev/pts, /dev/shm, /dev/mqueue, the links and the
    nodes are all made, then /dev is read-only (runc remounts it at the end)."""
    def edit(config):
        for mount in config["mounts"]:
            if mount["destination"] == "/dev":
                mount["options"].append("ro")
    script = ("cat /proc/self/mountinfo; echo ---; ls /dev | tr '\\n' ' '; echo; readlink /dev/ptmx; "
              "touch /dev/new 2>/dev/null && echo dev:rw || echo dev:ro; "
              "touch /dev/shm/new && echo shm:rw; echo x > /dev/null && echo null:ok")
    bundle = rt.bundle(["sh", "-c", script], edit=edit)
    mountinfo, _, rest = rt.run(bundle).stdout.partition("---\n")
    options, fstype = mount_line(mountinfo, "/dev")
    assert fstype == "tmpfs" and "ro" in options and "nosuid" in options
    for sub in ("/dev/pts", "/dev/shm", "/dev/mqueue"):
        assert "rw" in mount_line(mountinfo, sub)[0]
    listing, ptmx, *checks = rest.splitlines()
    for name in ("null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "ptmx", "pts", "shm"):
        assert name in listing.split()
    assert ptmx == "pts/ptmx"
    assert checks == ["dev:ro", "shm:rw", "null:ok"]
    runc = with_runc(rt, bundle)
    if runc is not None:
        assert runc.returncode == 0, runc
        assert "ro" in mount_line(runc.stdout.partition("---\n")[0], "/dev")[0]
        assert runc.stdout.partition("---\n")[2].splitlines()[2:] == checks
