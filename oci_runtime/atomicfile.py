"""Files replaced whole: never seen half-written, never left behind as a temporary.

``replace(path, data)`` writes ``data`` into an *unnamed* file in the target's
directory (O_TMPFILE), so a command killed while writing, or a disk that
fills up, leaves nothing anywhere.  Only a complete file gets a name, with
linkat, and that name is renamed over ``path``.  One window remains: a kill
between the link and the rename (two syscalls) strands ``<path>.tmp<pid>``.
Writers that can meet such a leftover remove it under their lock with
``sweep`` (cgroups/parents.py); a container's own directory is removed whole
by delete.  Filesystems without O_TMPFILE get the named temporary directly.
No fsync: see state.py.
"""
import errno
import os

from oci_runtime import faults
from oci_runtime.fileio import write_all

_NO_TMPFILE = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT)


def _temporary_name(name):
    return f"{name}.tmp{os.getpid()}"


def replace(path, data, mode=0o600):
    try:
        _replace(path, data, mode)
    except OSError as exc:
        raise OSError(exc.errno, f"writing {path}: {exc.strerror}") from None


def _replace(path, data, mode):
    directory, name = os.path.split(path)
    tmp = _temporary_name(name)
    dir_fd = os.open(directory or ".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    fd = None
    try:
        try:
            fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, mode, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno not in _NO_TMPFILE:
                raise
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode, dir_fd=dir_fd)
            write_all(fd, data)
        else:
            write_all(fd, data)
            if mode != 0o600:  # O_TMPFILE's mode went through the umask (which 0600 survives)
                os.fchmod(fd, mode)
            # linkat(AT_SYMLINK_FOLLOW) of the fd's magic link gives the unnamed file a name.
            try:
                os.link(f"/proc/self/fd/{fd}", tmp, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=True)
            except FileExistsError:  # left by an earlier process that had our pid
                _unlink_quietly(tmp, dir_fd)
                os.link(f"/proc/self/fd/{fd}", tmp, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=True)
            faults.point(f"write:{name}")  # the one window: linked, not yet renamed
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        _unlink_quietly(tmp, dir_fd)
        raise
    finally:
        if fd is not None:
            os.close(fd)
        os.close(dir_fd)


def sweep(directory, name):
    """Remove ``<name>.tmp*`` left in ``directory`` by a writer killed between its
    link and its rename; call it holding the lock every writer of ``name`` holds."""
    prefix = name + ".tmp"
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.startswith(prefix):
            _unlink_quietly(os.path.join(directory, entry))


def _unlink_quietly(path, dir_fd=None):
    try:
        os.unlink(path, dir_fd=dir_fd)
    except OSError:
        pass


def write_pid_file(path, pid):
    """--pid-file: the pid as text, replaced whole (engines read it as soon as the
    command returns, and may poll it before)."""
    replace(os.path.abspath(path), str(pid).encode(), 0o644)
