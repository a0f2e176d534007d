"""/dev in the container: the default nodes and links, and linux.devices.

Every node is made with mknodat on a descriptor of its parent directory and
owned with fchownat(AT_SYMLINK_NOFOLLOW) there (inroot.Root.replace_node):
an image that swaps /dev/<dir> for a symlink to a host directory while
`create` runs cannot have a device node made on the host (issue 16,
finding 2).  Where mknod is not allowed (a user namespace) the host's node of
the same path is bind-mounted instead, descriptor to descriptor.
"""
import errno
import os
import stat

from oci_runtime.rootfs.inroot import clear_name, lexical
from oci_runtime.rootfs.mounts import MountError, attach, clone

DEFAULT_DEVICES = (  # name, major, minor
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
    ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
)
DEV_LINKS = (
    ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"),
)
PTMX = "/dev/ptmx"
DEVICE_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def setup_dev(root):
    """Default device nodes and /dev links, created inside the container's /dev."""
    old_umask = os.umask(0)
    try:
        for name, major, minor in DEFAULT_DEVICES:
            _node(root, f"/dev/{name}", stat.S_IFCHR | 0o666, major, minor, None, None)
        try:
            dev = root.make("/dev")
            try:
                for name, target in DEV_LINKS:
                    _link(dev, name, target)
            finally:
                os.close(dev)
        except OSError as exc:
            raise MountError(f"creating the /dev links: {exc.strerror}") from None
    finally:
        os.umask(old_umask)


def _link(dev, name, target):
    if clear_name(dev, name) == "directory":
        return  # the image made it a directory: left as it is (runc too)
    os.symlink(target, name, dir_fd=dev)


def create_devices(root, devices):
    """linux.devices: nodes made with mknod (or, where that is not allowed, as in
    a user namespace, the host's node of the same path bind-mounted).

    /dev/ptmx is skipped (podman and Docker list it): /dev/ptmx stays the
    link to pts/ptmx, so a pty opened in the container is one of the
    container's own devpts instance, as runc does (a 5:2 node would open the
    host's initial devpts instead, and mknod through the link fails)."""
    old_umask = os.umask(0)
    try:
        for device in devices:
            if lexical(device["path"]) == PTMX:
                continue  # the "ptmx" link to the devpts instance's own (setup_dev), as runc
            mode = DEVICE_TYPES[device["type"]] | (device.get("fileMode", 0o666) & 0o7777)
            try:
                _check_existing(root, device, mode)
            except OSError as exc:
                raise MountError(f"linux.devices: {device['path']}: {exc.strerror}") from None
            _node(root, device["path"], mode, device.get("major", 0), device.get("minor", 0),
                  device.get("uid", 0), device.get("gid", 0))
    finally:
        os.umask(old_umask)


def _node(root, path, mode, major, minor, uid, gid):
    try:
        os.close(root.replace_node(path, mode, os.makedev(major, minor), uid, gid))
        return
    except PermissionError:  # no CAP_MKNOD here (a user namespace): bind the host's node
        pass
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            # The same device (_check_existing) already bound from the host in a user
            # namespace: a default node (/dev/null...) that linux.devices lists again
            # (podman --privileged lists them all).  It stays as it is.
            return
        raise MountError(f"creating device {path}: {exc.strerror}") from None
    what = f"binding {path} from the host"
    tree = clone(path, False, what)  # the host's node, by the host's path: before the switch
    try:
        try:
            target = root.make(path, "file")
        except OSError as exc:
            raise MountError(f"{what}: creating the mount point: {exc.strerror}") from None
        try:
            attach(tree, target, what)
        finally:
            os.close(target)
    finally:
        os.close(tree)


def _check_existing(root, device, mode):
    """A node already at the path must be the same device (the spec: a mismatch is an
    error); a default node this runtime made itself (/dev/null...) may be replaced."""
    try:
        parent, name = root.parent(device["path"])
    except FileNotFoundError:
        return
    try:
        st = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return
    finally:
        os.close(parent)
    same_type = stat.S_IFMT(st.st_mode) == stat.S_IFMT(mode)
    same_numbers = device["type"] == "p" or (
        os.major(st.st_rdev) == device.get("major", 0) and os.minor(st.st_rdev) == device.get("minor", 0))
    if not (same_type and same_numbers):
        raise MountError(f"linux.devices: {device['path']} already exists in the container "
                         "and is not the requested device")
