"""After the switch: masked paths, read-only paths, a read-only root.

These run inside the container's root, where /proc is the container's (a
procfs by then, kernelfs.py); still, nothing here goes through a path the
container could have redirected: each target is opened through the Root with
its last name not followed, and each mount is a detached one (a clone of the
verified /dev/null, a new read-only tmpfs, a read-only clone of the target)
attached with move_mount.  /proc/self/fd is never used.
"""
import os
import stat

from oci_runtime import shim
from oci_runtime.rootfs.kernelfs import MountError
from oci_runtime.rootfs.mounts import attach, clone, new_filesystem, set_attributes


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


def readonly_root(root):
    set_attributes(root.fd, shim.MOUNT_ATTR_RDONLY, 0, "making the root filesystem read-only")
