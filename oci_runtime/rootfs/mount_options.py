"""A mount's "options", mapped onto the new mount API.

config.md lets an option be a mount(8) flag ("ro", "nosuid"), a propagation
("rprivate"), a recursive attribute ("rro"), one of the runtime's extensions
("tmpcopyup", "idmap") or anything else, which goes to the filesystem as its
data.  Mounts are made with the new mount API (mounts.py), so the flags are
turned into the two places that API keeps them: per-mount attributes
(MOUNT_ATTR_*, for fsmount and mount_setattr) and superblock flags (fsconfig
flag keys).
"""
import os

from oci_runtime import shim

# option -> (set flags, clear flags)
MOUNT_FLAGS = {
    "ro": (shim.MS_RDONLY, 0), "rw": (0, shim.MS_RDONLY),
    "nosuid": (shim.MS_NOSUID, 0), "suid": (0, shim.MS_NOSUID),
    "nodev": (shim.MS_NODEV, 0), "dev": (0, shim.MS_NODEV),
    "noexec": (shim.MS_NOEXEC, 0), "exec": (0, shim.MS_NOEXEC),
    "sync": (shim.MS_SYNCHRONOUS, 0), "async": (0, shim.MS_SYNCHRONOUS),
    "dirsync": (shim.MS_DIRSYNC, 0),
    "remount": (shim.MS_REMOUNT, 0),
    "mand": (shim.MS_MANDLOCK, 0), "nomand": (0, shim.MS_MANDLOCK),
    "noatime": (shim.MS_NOATIME, 0), "atime": (0, shim.MS_NOATIME),
    "nodiratime": (shim.MS_NODIRATIME, 0), "diratime": (0, shim.MS_NODIRATIME),
    "relatime": (shim.MS_RELATIME, 0), "norelatime": (0, shim.MS_RELATIME),
    "strictatime": (shim.MS_STRICTATIME, 0), "nostrictatime": (0, shim.MS_STRICTATIME),
    "lazytime": (shim.MS_LAZYTIME, 0), "nolazytime": (0, shim.MS_LAZYTIME),
    "nosymfollow": (shim.MS_NOSYMFOLLOW, 0), "symfollow": (0, shim.MS_NOSYMFOLLOW),
    "silent": (shim.MS_SILENT, 0), "loud": (0, shim.MS_SILENT),
    "bind": (shim.MS_BIND, 0), "rbind": (shim.MS_BIND | shim.MS_REC, 0),
    "iversion": (1 << 23, 0), "noiversion": (0, 1 << 23),
    "defaults": (0, 0),
}
PROPAGATION_FLAGS = {
    "private": shim.MS_PRIVATE, "rprivate": shim.MS_PRIVATE | shim.MS_REC,
    "shared": shim.MS_SHARED, "rshared": shim.MS_SHARED | shim.MS_REC,
    "slave": shim.MS_SLAVE, "rslave": shim.MS_SLAVE | shim.MS_REC,
    "unbindable": shim.MS_UNBINDABLE, "runbindable": shim.MS_UNBINDABLE | shim.MS_REC,
}
_ATIME = shim.MOUNT_ATTR__ATIME
# Recursive options (mount_setattr with AT_RECURSIVE): option -> (attr_set, attr_clr).
RECURSIVE_ATTRS = {
    "rro": (shim.MOUNT_ATTR_RDONLY, 0), "rrw": (0, shim.MOUNT_ATTR_RDONLY),
    "rnosuid": (shim.MOUNT_ATTR_NOSUID, 0), "rsuid": (0, shim.MOUNT_ATTR_NOSUID),
    "rnodev": (shim.MOUNT_ATTR_NODEV, 0), "rdev": (0, shim.MOUNT_ATTR_NODEV),
    "rnoexec": (shim.MOUNT_ATTR_NOEXEC, 0), "rexec": (0, shim.MOUNT_ATTR_NOEXEC),
    "rnodiratime": (shim.MOUNT_ATTR_NODIRATIME, 0), "rdiratime": (0, shim.MOUNT_ATTR_NODIRATIME),
    "rrelatime": (shim.MOUNT_ATTR_RELATIME, _ATIME), "rnorelatime": (shim.MOUNT_ATTR_STRICTATIME, _ATIME),
    "rnoatime": (shim.MOUNT_ATTR_NOATIME, _ATIME), "ratime": (shim.MOUNT_ATTR_RELATIME, _ATIME),
    "rstrictatime": (shim.MOUNT_ATTR_STRICTATIME, _ATIME), "rnostrictatime": (shim.MOUNT_ATTR_RELATIME, _ATIME),
    "rnosymfollow": (shim.MOUNT_ATTR_NOSYMFOLLOW, 0), "rsymfollow": (0, shim.MOUNT_ATTR_NOSYMFOLLOW),
}
# Options that change how the runtime mounts, rather than flags or fs data.
EXTENSIONS = ("tmpcopyup", "idmap", "ridmap")

# mount(2) flag -> per-mount attribute (fsmount, mount_setattr).
_PER_MOUNT = (
    (shim.MS_RDONLY, shim.MOUNT_ATTR_RDONLY), (shim.MS_NOSUID, shim.MOUNT_ATTR_NOSUID),
    (shim.MS_NODEV, shim.MOUNT_ATTR_NODEV), (shim.MS_NOEXEC, shim.MOUNT_ATTR_NOEXEC),
    (shim.MS_NODIRATIME, shim.MOUNT_ATTR_NODIRATIME), (shim.MS_NOSYMFOLLOW, shim.MOUNT_ATTR_NOSYMFOLLOW),
)
# mount(2) flag -> the superblock flag key fsconfig takes (fs/fs_context.c).
SUPERBLOCK_KEYS = (
    (shim.MS_RDONLY, "ro"), (shim.MS_SYNCHRONOUS, "sync"), (shim.MS_DIRSYNC, "dirsync"),
    (shim.MS_LAZYTIME, "lazytime"), (shim.MS_MANDLOCK, "mand"),
)


class MountOptions:
    """A mount's options sorted into what each needs: mount(2) flags, propagation
    calls, recursive mount_setattr attributes, runtime extensions, and the rest,
    which goes to the filesystem as its data (as the spec says)."""

    def __init__(self, options):
        self.flags = 0
        self.propagation = []
        self.attr_set = self.attr_clr = 0
        self.extensions = set()
        self.data_items = []
        for option in options or ():
            if option in MOUNT_FLAGS:
                set_bits, clear_bits = MOUNT_FLAGS[option]
                self.flags = (self.flags | set_bits) & ~clear_bits
            elif option in PROPAGATION_FLAGS:
                self.propagation.append(PROPAGATION_FLAGS[option])
            elif option in RECURSIVE_ATTRS:
                set_bits, clear_bits = RECURSIVE_ATTRS[option]
                self.attr_set = (self.attr_set & ~clear_bits) | set_bits
                self.attr_clr = (self.attr_clr & ~set_bits) | clear_bits
            elif option in EXTENSIONS:
                self.extensions.add(option)
            else:
                self.data_items.append(option)
        self.data = ",".join(self.data_items)


def mount_attributes(flags):
    """The MOUNT_ATTR_* bits a mount made with ``flags`` gets (atime: relatime unless
    noatime or strictatime is asked for, as mount(2) does)."""
    attrs = 0
    for flag, attr in _PER_MOUNT:
        if flags & flag:
            attrs |= attr
    if flags & shim.MS_NOATIME:
        attrs |= shim.MOUNT_ATTR_NOATIME
    elif flags & shim.MS_STRICTATIME:
        attrs |= shim.MOUNT_ATTR_STRICTATIME
    return attrs


def changed_attributes(flags):
    """(attr_set, attr_clr) for mount_setattr that gives an existing mount exactly the
    per-mount flags of ``flags``, as a bind remount with mount(2) does: what is not
    asked for is cleared, and the atime mode is relatime unless another is named."""
    attr_clr = shim.MOUNT_ATTR__ATIME
    for _flag, attr in _PER_MOUNT:
        attr_clr |= attr
    return mount_attributes(flags), attr_clr


# statvfs f_flag bit -> the mount(2) flag it reports (the per-mount ones a user
# namespace cannot clear, and the atime mode).
_STATVFS_FLAGS = (
    (os.ST_RDONLY, shim.MS_RDONLY), (os.ST_NOSUID, shim.MS_NOSUID), (os.ST_NODEV, shim.MS_NODEV),
    (os.ST_NOEXEC, shim.MS_NOEXEC), (os.ST_NOATIME, shim.MS_NOATIME), (os.ST_NODIRATIME, shim.MS_NODIRATIME),
    (os.ST_RELATIME, shim.MS_RELATIME),
)


def source_flags(mount_fd):
    """The mount(2) flags of the mount open as ``mount_fd`` (fstatfs)."""
    f_flag = os.fstatvfs(mount_fd).f_flag
    flags = 0
    for bit, flag in _STATVFS_FLAGS:
        if f_flag & bit:
            flags |= flag
    if not flags & (shim.MS_NOATIME | shim.MS_RELATIME):
        flags |= shim.MS_STRICTATIME
    return flags
