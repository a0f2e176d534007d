"""/proc, /sys, /dev/pts and /dev/mqueue: only their own filesystems may be mounted there.

Tools in the container, and the runtime's own later steps, trust what these
paths are: sysctl and oom_score_adj writes, LSM attributes (CVE-2019-16884,
CVE-2025-52881), the masked paths that hide /proc/kcore and friends.  A bind of
a host or image directory at /proc would turn all of that into writes and
reads of ordinary files.  So, as runc's checkProcMount and more:

* a mount *at* a name in ``EXPECTED`` must be that filesystem: checked with
  fstatfs on the detached mount (a fresh one, or the clone of a bind's source)
  before it is attached, so a wrong one is never visible;
* nothing may be mounted *inside* /proc but the few files lxcfs emulates;
* /proc and /sys are mounted exactly where they are named: a symlink on the
  way is refused (runc: 'must be mounted on ordinary directory'), since it
  could send the procfs mount, and every write under it, elsewhere.
"""
import os
import stat

from oci_runtime import shim
from oci_runtime.errors import OCIError

PROC_SUPER_MAGIC = 0x9FA0
SYSFS_MAGIC = 0x62656572
DEVPTS_SUPER_MAGIC = 0x1CD1
MQUEUE_MAGIC = 0x19800202
# destination -> (filesystem type, statfs magic)
EXPECTED = {
    "/proc": ("proc", PROC_SUPER_MAGIC),
    "/sys": ("sysfs", SYSFS_MAGIC),
    "/dev/pts": ("devpts", DEVPTS_SUPER_MAGIC),
    "/dev/mqueue": ("mqueue", MQUEUE_MAGIC),
}
# Destinations (and filesystem types) that must be reached without any symlink.
NO_SYMLINKS = ("/proc", "/sys")
NO_SYMLINK_TYPES = ("proc", "sysfs")
# The files inside /proc that may be mounted over (lxcfs emulates them), as runc.
LXCFS_FILES = frozenset((
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
    "/proc/loadavg", "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
))


class MountError(OCIError):
    pass


def must_avoid_symlinks(destination, fstype):
    return destination in NO_SYMLINKS or fstype in NO_SYMLINK_TYPES


def check_place(resolved, fstype):
    """Before anything is mounted: ``resolved`` is where the destination lies in the
    container once its symlinks are followed."""
    if resolved.startswith("/proc/") and resolved not in LXCFS_FILES:
        raise MountError(f'"{resolved}" cannot be mounted because it is inside /proc')


def check_target(destination, fstype, target_fd):
    """/proc and /sys must be (or become) ordinary directories."""
    if must_avoid_symlinks(destination, fstype) and not stat.S_ISDIR(os.fstat(target_fd).st_mode):
        raise MountError(f'filesystem "{fstype or "bind"}" must be mounted on ordinary directory '
                         f'("{destination}" is not a directory in the rootfs)')


def check_filesystem(names, mount_fd):
    """The detached mount about to be attached at any of ``names`` (the destination
    as written and as resolved) is the filesystem that name requires."""
    for name in names:
        expected = EXPECTED.get(name)
        if expected and shim.fstatfs_type(mount_fd) != expected[1]:
            raise MountError(f'"{name}" cannot be mounted because it is not of type {expected[0]}')

