"""Making the rootfs the process's "/": pivot_root, or --no-pivot's move and chroot.

pivot_root(".", ".") from inside the new root stacks the old root on top of
it; the old root is then detached lazily.  Its unmount cannot reach the host:
prepare() made every mount a slave first.

--no-pivot cannot detach the old root, so the host's mounts stay in the
container's mount namespace, out of sight under the chroot but still there.
The kernel lets a process mount a new procfs or sysfs (say, in a user and pid
namespace it made itself, `unshare -Urmpf --mount-proc`) only if a *fully
visible* one exists in its mount namespace; the host's /proc is one.  So
before the move every procfs and sysfs mount outside the rootfs is unmounted
(or, where that is refused, as for a user namespace's locked mounts, covered
with a tmpfs), as runc does (issue 16, finding 8).
"""
import errno
import os

from oci_runtime import mountinfo, shim
from oci_runtime.rootfs.kernelfs import MountError


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
             and m.mountpoint != rootfs and not m.mountpoint.startswith(rootfs.rstrip("/") + "/")]
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
