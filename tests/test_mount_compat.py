"""runc compatibility of the rootfs (issue 18): what engines and scripts can tell apart.

Each test reads back from inside the container what it got, and checks what the
host kept; where runc is installed the same bundle is run with it too, as an
extra check (the expected behaviour is asserted literally either way).
"""
import os
import pathlib
import shutil
import subprocess
import tempfile

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


# ------------------------------------------------------------------ user namespaces

HOST_BASE = 100000


@pytest.fixture
def open_dir(rt):
    """A directory outside pytest's 0700 tmp dirs, which a mapped root can traverse;
    mounts the test makes under it are unmounted before it is removed."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=f"ocirt-compat-{rt.tag}-"))
    path.chmod(0o711)
    yield path
    with open("/proc/self/mountinfo") as f:
        mounted = [line.split()[4] for line in f if line.split()[4].startswith(str(path) + "/")]
    for mountpoint in sorted(mounted, key=len, reverse=True):
        subprocess.run(["umount", mountpoint], check=True)
    shutil.rmtree(path)


def userns_bundle(rt, open_dir, args, mounts):
    def edit(config):
        config["linux"]["namespaces"].append({"type": "user"})
        for key in ("uidMappings", "gidMappings"):
            config["linux"][key] = [{"containerID": 0, "hostID": HOST_BASE, "size": 65536}]
        config["mounts"] += mounts
    bundle = rt.bundle(args, edit=edit, base=open_dir)
    for directory, dirs, files in os.walk(bundle / "rootfs"):
        os.lchown(directory, HOST_BASE, HOST_BASE)
        for name in dirs + files:
            os.lchown(os.path.join(directory, name), HOST_BASE, HOST_BASE)
    return bundle


def host_mount_options(mountpoint):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            if parts[4] == str(mountpoint):
                return parts[5].split(",")
    raise AssertionError(f"{mountpoint} is not mounted on the host")


def test_userns_bind_keeps_the_sources_locked_flags(rt, open_dir):
    """A host directory mounted nosuid,nodev,noexec,noatime, bound "ro" into a
    user-namespaced container: those flags are locked there, so they are kept
    (runc 1.1.5 fails this with EPERM) and "ro" is added; the host's mount is
    unchanged."""
    source = open_dir / "locked"
    source.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "nosuid,nodev,noexec,noatime,mode=755", "tmpfs", str(source)],
                   check=True)
    (source / "file").write_text("from the host\n")
    bundle = userns_bundle(rt, open_dir, ["sh", "-c", "cat /locked/file; cat /proc/self/mountinfo; "
                                          "touch /locked/new 2>/dev/null && echo rw || echo ro"],
                           [{"destination": "/locked", "type": "bind", "source": str(source),
                             "options": ["bind", "ro"]}])
    out = rt.run(bundle).stdout
    assert out.startswith("from the host\n")
    options, fstype = mount_line(out, "/locked")
    assert fstype == "tmpfs"
    assert {"ro", "nosuid", "nodev", "noexec", "noatime"} <= set(options), options
    assert out.splitlines()[-1] == "ro"
    assert set(host_mount_options(source)) == {"rw", "nosuid", "nodev", "noexec", "noatime"}
    assert not (source / "new").exists()


def test_userns_bind_source_under_a_closed_directory(rt, open_dir):
    """Sources under a 0700 directory of the host's root, which the container's
    mapped root cannot search: opened on the host's side, as runc does.  A missing
    one there is still named as missing."""
    closed = open_dir / "closed"
    (closed / "inner").mkdir(parents=True)
    (closed / "inner" / "file").write_text("behind 0700\n")
    (closed / "single").write_text("a file source\n")
    closed.chmod(0o700)
    mounts = [{"destination": "/dir", "type": "bind", "source": str(closed / "inner"), "options": ["bind", "ro"]},
              {"destination": "/single", "type": "bind", "source": str(closed / "single"), "options": ["bind"]}]
    script = "cat /dir/file /single; cat /proc/self/mountinfo; touch /dir/new 2>/dev/null && echo rw || echo ro"
    bundle = userns_bundle(rt, open_dir, ["sh", "-c", script], mounts)
    out = rt.run(bundle).stdout
    assert out.startswith("behind 0700\na file source\n")
    assert "ro" in mount_line(out, "/dir")[0]
    assert out.splitlines()[-1] == "ro"
    assert (closed.stat().st_mode & 0o777, closed.stat().st_uid) == (0o700, 0)  # the host's, untouched
    assert sorted(os.listdir(closed / "inner")) == ["file"]
    runc = with_runc(rt, bundle)
    if runc is not None:
        assert runc.returncode == 0 and runc.stdout.startswith("behind 0700\na file source\n"), runc

    missing = userns_bundle(rt, open_dir, ["true"], [{"destination": "/gone", "type": "bind",
                                                      "source": str(closed / "gone"), "options": ["bind"]}])
    result = rt.cmd("create", "--bundle", str(missing), rt.new_id())
    assert result.returncode == 1
    assert f'mounting "{closed / "gone"}" to "/gone"' in result.stderr and "source does not exist" in result.stderr
    assert "Traceback" not in result.stderr and "Errno" not in result.stderr


@pytest.mark.parametrize("userns", [False, True], ids=["no-userns", "userns"])
def test_bind_source_inside_the_rootfs_sees_earlier_mounts(rt, open_dir, userns):
    """Mounts are made in the order listed: a bind whose source is a directory of
    the rootfs gets the tmpfs mounted there by an earlier entry, not the image's
    directory under it."""
    script = "echo made > /data/x; ls /alias; cat /proc/self/mountinfo"
    mounts = [{"destination": "/data", "type": "tmpfs", "source": "tmpfs"},
              {"destination": "/alias", "type": "bind", "source": "PLACEHOLDER", "options": ["bind"]}]
    if userns:
        bundle = userns_bundle(rt, open_dir, ["sh", "-c", script], mounts)
    else:
        bundle = rt.bundle(["sh", "-c", script], edit=lambda c: c["mounts"].extend(mounts))
    (bundle / "rootfs" / "data").mkdir(exist_ok=True)
    (bundle / "rootfs" / "data" / "from-image").write_text("")
    config = rt.read_config(bundle)
    config["mounts"][-1]["source"] = str(bundle / "rootfs" / "data")
    rt.write_config(bundle, config)
    out = rt.run(bundle).stdout
    assert out.splitlines()[0] == "x"  # the tmpfs, written through /data; not "from-image"
    assert mount_line(out, "/alias")[1] == "tmpfs"
    assert os.listdir(bundle / "rootfs" / "data") == ["from-image"]  # the host's directory kept as it was
    runc = with_runc(rt, bundle)
    if runc is not None and not userns:
        assert runc.returncode == 0 and runc.stdout.splitlines()[0] == "x", runc
