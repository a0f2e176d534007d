"""The order in which the container's filesystem view is made (see the package
docstring): prepare() in the init before the switch into the rootfs, finish() after.

The switch.  pivot_root(".", ".") from inside the new root stacks the old root
on top of it; the old root is then detached lazily.  Its unmount cannot reach
the host: prepare() made every mount a slave first.  --no-pivot cannot detach
the old root, so the host's mounts stay in the container's mount namespace,
out of sight under the chroot but still there.  The kernel lets a process
mount a new procfs or sysfs (say, in a user and pid namespace it made itself,
`unshare -Urmpf --mount-proc`) only if a *fully visible* one exists in its
mount namespace, and the host's /proc is one.  So before the move every
procfs and sysfs mount outside the rootfs is unmounted (or, where that is
refused, as for a user namespace's locked mounts, covered with a tmpfs), as
runc does (issue 16, finding 8).

After the switch: a read-only /dev (mounted writable, so that its nodes and
links could be made), masked paths, read-only paths, a read-only root.  /proc is
the container's by then (a procfs, mounts.py); still nothing goes through a
path the container could have redirected: each target is opened through the
Root with its last name not followed, and each mount is a detached one (a
clone of the verified /dev/null, a new read-only tmpfs, a read-only clone of
the target) attached with move_mount.  /proc/self/fd is never used.
"""
import errno
import os
import stat

from oci_runtime import mountinfo, shim
from oci_runtime.rootfs import dev, inroot, mounts
from oci_runtime.rootfs.mounts import MountError
from oci_runtime.rootfs.mount_options import PROPAGATION_FLAGS
from oci_runtime.rootfs.mounts import attach, clone, new_filesystem, set_attributes


def prepare(config, rootfs_dir, no_pivot, cgroup, cgroupns, before_pivot=None, open_source=None,
            host_mount_namespace=False):
    """Everything up to and including the switch into the rootfs; ``before_pivot``
    runs once mounts and /dev exist (the createRuntime/createContainer hook point);
    ``open_source`` opens a bind source the init cannot reach (a user namespace).
    ``host_mount_namespace``: the config has no mount namespace (host_mounts.py):
    the host's "/" is not touched, and the switch is a chroot."""
    linux = config["linux"]
    propagation = linux.get("rootfsPropagation") or "rslave"
    if not host_mount_namespace:
        # Slave first, whatever was asked: host mounts keep propagating in, and
        # nothing mounted here can propagate out to the host.
        shim.mount(None, "/", None, shim.MS_SLAVE | shim.MS_REC)
    with mounts.bind_rootfs(rootfs_dir) as root:
        for entry in config["mounts"]:
            mounts.mount_entry(root, entry, cgroup, cgroupns, open_source)
        dev.setup_dev(root)
        dev.create_devices(root, linux["devices"])
        if before_pivot is not None:
            before_pivot()
        if host_mount_namespace:
            os.fchdir(root.fd)  # no pivot_root, no move: either would change the host's "/"
            os.chroot(".")
            os.chdir("/")
            return
        if no_pivot:
            chroot_into(root)
        else:
            pivot(root)
    if propagation not in ("slave", "rslave"):
        shim.mount(None, "/", None, PROPAGATION_FLAGS[propagation])


def finish(config, root):
    """After the switch (``root`` is a Root on the new "/"): masked and read-only
    paths, then a read-only root."""
    linux = config["linux"]
    if mounts.dev_read_only(config["mounts"]):
        readonly_dev(root)
    mask_paths(root, linux["maskedPaths"])
    readonly_paths(root, linux["readonlyPaths"])
    if config["root"].get("readonly"):
        readonly_root(root)


# ------------------------------------------------------------------ the switch

def pivot(root):
    os.fchdir(root.fd)
    shim.pivot_root(".", ".")
    # The old root is now mounted on top of "/"; lazily detach it.  (An rslave here
    # would also hit the new root's mounts and undo the propagation options the
    # config asked for.)
    shim.umount2(".", shim.MNT_DETACH)
    os.chdir("/")


def chroot_into(root):
    where = os.readlink(f"/proc/self/fd/{root.fd}")  # the kernel's name of the rootfs
    hide_kernel_filesystems(where)
    os.fchdir(root.fd)
    shim.move_mount_to_path(root.fd, "/")
    os.chroot(".")
    os.chdir("/")


def hide_kernel_filesystems(rootfs):
    """Unmount (or cover) every full procfs/sysfs mount outside ``rootfs``."""
    found = [m.mountpoint for m in mountinfo.read()
             if m.fstype in ("proc", "sysfs") and m.root == "/"
             and not inroot.at_or_under(m.mountpoint, rootfs)]
    for mountpoint in sorted(found, key=len, reverse=True):  # deepest first
        try:
            shim.umount2(mountpoint, shim.MNT_DETACH)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                continue  # a parent was unmounted already
            if exc.errno not in (errno.EINVAL, errno.EPERM):
                raise MountError(f"--no-pivot: unmounting {mountpoint}: {exc.strerror}") from None
            try:
                shim.mount("tmpfs", mountpoint, "tmpfs", shim.MS_RDONLY)
            except OSError as cover_exc:
                raise MountError(f"--no-pivot: covering {mountpoint}: {cover_exc.strerror}") from None


# ------------------------------------------------------------------ after the switch

def _is_dev_null(fd):
    st = os.fstat(fd)
    return stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3


def _open_target(root, path):
    """The entry at ``path`` itself (a final symlink not followed), or None if missing."""
    try:
        return root.open_final(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MountError(f"opening {path} in the container: {exc.strerror}") from None


def mask_paths(root, paths):
    """Hide paths: /dev/null over files, an empty read-only tmpfs over directories.

    /dev/null is checked to be the real null device before it is used and is
    bound fd to fd, so a rootfs whose /dev/null is a symlink or another node
    cannot turn masking into a host write (the CVE-2025-31133 pattern)."""
    null_fd = None
    try:
        for path in paths:
            target = _open_target(root, path)
            if target is None:
                continue
            try:
                what = f"masking {path}"
                if stat.S_ISDIR(os.fstat(target).st_mode):
                    cover = new_filesystem("tmpfs", "tmpfs", shim.MS_RDONLY, (), what)
                else:
                    if null_fd is None:
                        null_fd = _open_null(root)
                    cover = clone("", False, what, dirfd=null_fd)
                try:
                    attach(cover, target, what)
                finally:
                    os.close(cover)
            finally:
                os.close(target)
    finally:
        if null_fd is not None:
            os.close(null_fd)


def _open_null(root):
    try:
        fd = root.open_final("/dev/null")
    except OSError as exc:
        raise MountError(f"masking paths: opening /dev/null in the container: {exc.strerror}") from None
    if not _is_dev_null(fd):
        os.close(fd)
        raise MountError("masking paths: /dev/null in the container is not the null device")
    return fd


def readonly_paths(root, paths):
    """A read-only bind of each path onto itself (recursive bind, read-only top, as runc)."""
    for path in paths:
        target = _open_target(root, path)
        if target is None:
            continue
        what = f"making {path} read-only"
        try:
            tree = clone("", True, what, dirfd=target)
            try:
                set_attributes(tree, shim.MOUNT_ATTR_RDONLY, 0, what)
                attach(tree, target, what)
            finally:
                os.close(tree)
        finally:
            os.close(target)


def readonly_dev(root):
    """A /dev mounted "ro", made read-only now that its nodes, links and the console exist."""
    try:
        dev = root.open("/dev", os.O_PATH | os.O_DIRECTORY)
    except OSError as exc:
        raise MountError(f"making /dev read-only: opening it in the container: {exc.strerror}") from None
    try:
        set_attributes(dev, shim.MOUNT_ATTR_RDONLY, 0, "making /dev read-only")
    finally:
        os.close(dev)


def readonly_root(root):
    set_attributes(root.fd, shim.MOUNT_ATTR_RDONLY, 0, "making the root filesystem read-only")
