"""A procfs the container cannot have replaced, for the runtime's writes to /proc.

Once the config's mounts are in place, the container's "/proc" is whatever the
bundle put there: a bind of an image directory, a tmpfs, a procfs with a file
mounted over /proc/sys/... (CVE-2019-16884, CVE-2025-52881).  A write through
that path could be silently swallowed (an LSM label never applied) or be sent
somewhere else.  So the init opens its own procfs before any of the config's
mounts exist: a fresh, detached instance (fsopen/fsmount, for the container's
pid namespace, reachable by no path), or, on kernels without the new mount API,
the runtime's own /proc checked to be procfs.  Every write then goes through
that handle with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
and the opened file is checked to be on procfs before a byte is written.
"""
import errno
import os

from oci_runtime import shim
from oci_runtime.errors import OCIError

PROC_SUPER_MAGIC = 0x9FA0
_RESOLVE = shim.RESOLVE_BENEATH | shim.RESOLVE_NO_MAGICLINKS | shim.RESOLVE_NO_XDEV


def open_handle():
    """An O_PATH-like fd on the root of a procfs nobody else can reach or change."""
    try:
        fs_fd = shim.fsopen("proc")
    except OSError as exc:
        if exc.errno not in (errno.ENOSYS, errno.EPERM):
            raise OCIError(f"opening a private procfs: {exc.strerror}") from None
        return _checked(os.open("/proc", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC), "/proc")
    try:
        shim.fsconfig_create(fs_fd)
        handle = shim.fsmount(fs_fd, shim.MOUNT_ATTR_NOSUID | shim.MOUNT_ATTR_NODEV | shim.MOUNT_ATTR_NOEXEC)
    except OSError as exc:
        raise OCIError(f"mounting a private procfs: {exc.strerror}") from None
    finally:
        os.close(fs_fd)
    return _checked(handle, "the private procfs")


def _checked(fd, what):
    if shim.fstatfs_type(fd) != PROC_SUPER_MAGIC:
        os.close(fd)
        raise OCIError(f"{what} is not procfs")
    return fd


def open_file(handle, relative, flags=os.O_WRONLY):
    """Open ``relative`` (e.g. "sys/net/ipv4/ip_forward") beneath the handle, on procfs only."""
    fd = shim.openat2(handle, relative, flags | os.O_CLOEXEC | os.O_NOFOLLOW, 0, _RESOLVE)
    if shim.fstatfs_type(fd) != PROC_SUPER_MAGIC:
        os.close(fd)
        raise OCIError(f"/proc/{relative} is not on procfs")
    return fd


def write(handle, relative, data):
    fd = open_file(handle, relative)
    try:
        os.write(fd, data.encode() if isinstance(data, str) else data)
    finally:
        os.close(fd)
