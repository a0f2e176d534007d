"""Python face of the cffi shim: each call raises OSError (errno + path) on failure.

The compiled module ``oci_runtime._shim`` only wraps syscalls; this module
adds nothing but error translation, so there is still no policy here.
Imported only by the create path (the forked children), never by state/kill.
"""
import os

from oci_runtime._shim import ffi, lib
from oci_runtime.lazyos import fsencode  # os.fsencode without os.py

# Namespace clone flags (linux/sched.h).
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

# mount(2) flags.
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_SYNCHRONOUS = 16
MS_REMOUNT = 32
MS_MANDLOCK = 64
MS_DIRSYNC = 128
MS_NOSYMFOLLOW = 256
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_SILENT = 32768
MS_UNBINDABLE = 1 << 17
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_RELATIME = 1 << 21
MS_STRICTATIME = 1 << 24
MS_LAZYTIME = 1 << 25

MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def _check(result, what, path=None):
    if result < 0:
        err = ffi.errno
        if path is not None:
            raise OSError(err, f"{what}: {os.strerror(err)}", path)
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _b(value):
    return None if value is None else fsencode(value)


def unshare(flags):
    _check(lib.oci_unshare(flags), "unshare")


def setns(fd, nstype=0):
    _check(lib.oci_setns(fd, nstype), "setns")


def mount(source, target, fstype, flags=0, data=None):
    source_c = _b(source) or ffi.NULL
    fstype_c = _b(fstype) or ffi.NULL
    data_c = _b(data) or ffi.NULL
    _check(lib.oci_mount(source_c, _b(target), fstype_c, flags, data_c), "mount", target)


def umount2(target, flags=0):
    _check(lib.oci_umount2(_b(target), flags), "umount", target)


def pivot_root(new_root, put_old):
    _check(lib.oci_pivot_root(_b(new_root), _b(put_old)), "pivot_root", new_root)


def sethostname(name):
    data = name.encode()
    _check(lib.oci_sethostname(data, len(data)), "sethostname")


def setdomainname(name):
    data = name.encode()
    _check(lib.oci_setdomainname(data, len(data)), "setdomainname")


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    return _check(lib.oci_prctl(option, arg2, arg3, arg4, arg5), "prctl")


def mknod(path, mode, major, minor):
    _check(lib.oci_mknod(_b(path), mode, major, minor), "mknod", path)


def keyctl_join_session(name):
    _check(lib.oci_keyctl_join_session(name.encode()), "keyctl(KEYCTL_JOIN_SESSION_KEYRING)")


def personality(persona):
    _check(lib.oci_personality(persona), "personality")


def sched_setattr(pid, policy, flags, nice, priority, runtime, deadline, period):
    _check(lib.oci_sched_setattr(pid, policy, flags, nice, priority, runtime, deadline, period),
           "sched_setattr")


def ioprio_set(which, who, ioprio):
    _check(lib.oci_ioprio_set(which, who, ioprio), "ioprio_set")


def rlimit_number(name):
    """RLIMIT_NOFILE etc. as this architecture numbers it; None if unknown."""
    number = lib.oci_rlimit_number(_b(name))
    return None if number < 0 else number


def setrlimit(number, soft, hard):
    _check(lib.oci_setrlimit(number, soft, hard), "setrlimit")


def getrlimit_hard(number):
    return lib.oci_getrlimit_hard(number)


def set_controlling_tty(fd):
    _check(lib.oci_set_controlling_tty(fd), "ioctl TIOCSCTTY")


def set_window_size(fd, rows, cols):
    _check(lib.oci_set_window_size(fd, rows, cols), "ioctl TIOCSWINSZ")


def pty_unlock(master):
    _check(lib.oci_pty_unlock(master), "ioctl TIOCSPTLCK")


def pty_number(master):
    return _check(lib.oci_pty_number(master), "ioctl TIOCGPTN")


def pty_peer(master, flags):
    """An fd of the pty's slave, opened by the kernel from the master (TIOCGPTPEER)."""
    return _check(lib.oci_pty_peer(master, flags), "ioctl TIOCGPTPEER")


AT_FDCWD = -100
AT_RECURSIVE = 0x8000
AT_EMPTY_PATH = 0x1000
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = 0o2000000
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_RDONLY = 0x1
MOUNT_ATTR_NOSUID = 0x2
MOUNT_ATTR_NODEV = 0x4
MOUNT_ATTR_NOEXEC = 0x8
MOUNT_ATTR__ATIME = 0x70
MOUNT_ATTR_RELATIME = 0x0
MOUNT_ATTR_NOATIME = 0x10
MOUNT_ATTR_STRICTATIME = 0x20
MOUNT_ATTR_NODIRATIME = 0x80
MOUNT_ATTR_IDMAP = 0x100000
MOUNT_ATTR_NOSYMFOLLOW = 0x200000


def mount_setattr(path, flags, attr_set=0, attr_clr=0, propagation=0, userns_fd=0, dirfd=AT_FDCWD):
    _check(lib.oci_mount_setattr(dirfd, _b(path), flags, attr_set, attr_clr, propagation, userns_fd),
           "mount_setattr", path)


def open_tree(path, flags, dirfd=AT_FDCWD):
    return _check(lib.oci_open_tree(dirfd, _b(path), flags), "open_tree", path)


MOVE_MOUNT_T_EMPTY_PATH = 0x40


def move_mount(from_fd, to_fd):
    """Move the detached mount ``from_fd`` onto the directory open as ``to_fd``."""
    _check(lib.oci_move_mount(from_fd, b"", to_fd, b"", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH),
           "move_mount")


def move_mount_to_path(from_fd, path):
    """Move the mount open as ``from_fd`` onto ``path`` (only --no-pivot's move onto "/")."""
    _check(lib.oci_move_mount(from_fd, b"", AT_FDCWD, _b(path), MOVE_MOUNT_F_EMPTY_PATH), "move_mount", path)


FSOPEN_CLOEXEC = 0x1
FSCONFIG_SET_FLAG = 0
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
FSMOUNT_CLOEXEC = 0x1


def fsopen(fstype, flags=FSOPEN_CLOEXEC):
    return _check(lib.oci_fsopen(_b(fstype), flags), f"fsopen({fstype})")


def fsconfig_create(fd):
    _check(lib.oci_fsconfig(fd, FSCONFIG_CMD_CREATE, ffi.NULL, ffi.NULL, 0), "fsconfig(FSCONFIG_CMD_CREATE)")


def fsconfig_flag(fd, key):
    _check(lib.oci_fsconfig(fd, FSCONFIG_SET_FLAG, _b(key), ffi.NULL, 0), f"fsconfig({key})")


def fsconfig_string(fd, key, value):
    _check(lib.oci_fsconfig(fd, FSCONFIG_SET_STRING, _b(key), _b(value), 0), f"fsconfig({key}={value})")


def fsmount(fd, attr_flags=0, flags=FSMOUNT_CLOEXEC):
    """A detached mount of the configured filesystem, as an fd on its root."""
    return _check(lib.oci_fsmount(fd, flags, attr_flags), "fsmount")


def fstatfs_type(fd):
    return _check(lib.oci_fstatfs_type(fd), "fstatfs")


def bpf(cmd, attr):
    """bpf(2) with ``attr`` a bytearray (the kernel may write results into it)."""
    buf = ffi.from_buffer(attr)
    return _check(lib.oci_bpf(cmd, buf, len(attr)), "bpf")


RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08
RESOLVE_IN_ROOT = 0x10


def openat2(dirfd, path, flags, mode=0, resolve=0):
    return _check(lib.oci_openat2(dirfd, _b(path), flags, mode, resolve), "openat2", path)
