"""The one way to reach a path under the container's root: file descriptors.

Every path the runtime touches under the rootfs -- mount destinations, device
nodes, /dev links, masked and read-only paths, process.cwd, /dev/console,
/dev/ptmx -- goes through a ``Root``:

* it is *opened* relative to a descriptor of the root with
  openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): the kernel resolves every
  step inside the root (an absolute symlink restarts at the root, ".." stops
  there, /proc/self/... magic links are refused);
* it is *created* one name at a time with mkdirat/mknodat/symlinkat/openat
  (O_CREAT | O_EXCL | O_NOFOLLOW) on a descriptor of its parent directory;
* it is *changed* through that descriptor: fchownat/unlinkat on the parent
  with a single name and no following of a final symlink, mounts with
  move_mount onto the target's descriptor (mounts.py).

No string made by joining the rootfs path and a path from the bundle is ever
handed to a syscall that follows links.  A process with write access to the
rootfs that swaps a directory for a symlink to the host while `create` runs
(the CVE-2021-30465 class; issue 16, finding 2) changes nothing: each step is
resolved inside the root, and the descriptor we act on cannot be moved.

Symlinks in the image are honoured as if the root were "/", dangling ones too
when a path is created: ``make`` creates a dangling link's target, inside the
root, the way `mkdir -p` through it would (runc does the same).
"""
import os
import stat

from oci_runtime import shim
from oci_runtime.errors import OCIError

RESOLVE = shim.RESOLVE_IN_ROOT | shim.RESOLVE_NO_MAGICLINKS
MAX_SYMLINKS = 40  # the kernel's own limit on one lookup
# openat2 says EAGAIN when a rename anywhere raced its ".." handling (it cannot
# then vouch that the walk stayed inside); it is asked again, this many times.
RETRIES = 64


class InRootError(OCIError):
    pass


class _Vanished(Exception):
    """A path ``make`` had just completed was gone again: start over."""


def components(path):
    """The names of a path, without empty and "." ones ("/a//./b/" -> ["a", "b"])."""
    return [part for part in path.split("/") if part not in ("", ".")]


def lexical(path):
    """An absolute, lexically clean path ("a/../../b/./c" -> "/b/c"), for comparing
    a destination with the names the spec gives special meaning (/proc, /sys)."""
    parts = []
    for part in components(path):
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def at_or_under(path, directory):
    """``path`` is ``directory`` or below it, compared as strings (both absolute
    and clean, as mountinfo and readlink give them)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


class Root:
    """A directory that is "/" for every path given to it, held as an O_PATH descriptor."""

    def __init__(self, fd):
        self.fd = fd

    @classmethod
    def of_directory(cls, path):
        """The directory ``path`` of the caller's own view (the host's rootfs
        before the switch, "/" after it), opened once."""
        return cls(os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ opening

    def open(self, path, flags=os.O_PATH, resolve=0):
        """A descriptor of ``path`` resolved inside the root (symlinks followed in it)."""
        relative = "/".join(components(path)) or "."
        for _ in range(RETRIES):
            try:
                return shim.openat2(self.fd, relative, flags | os.O_CLOEXEC, 0, RESOLVE | resolve)
            except BlockingIOError:  # EAGAIN: a rename raced the lookup; ask again
                continue
        raise InRootError(f"{path}: the rootfs kept changing while it was resolved (renames racing the runtime)")

    def parent(self, path, create=False):
        """(descriptor of the directory holding the last name of ``path``, that name).
        The name itself is not resolved: the caller acts on it with *at calls and
        no following, so a symlink there is seen as what it is."""
        parts = components(path)
        if not parts or parts[-1] == "..":
            raise InRootError(f"{path!r} does not name an entry inside the container")
        directory = "/".join(parts[:-1])
        if create:
            return self.make(directory), parts[-1]
        return self.open(directory, os.O_PATH | os.O_DIRECTORY), parts[-1]

    def open_final(self, path, flags=os.O_PATH):
        """``path`` with its last component not followed (O_NOFOLLOW): a symlink
        there is opened as the link itself (O_PATH) or refused (ELOOP)."""
        parent, name = self.parent(path)
        try:
            return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        finally:
            os.close(parent)

    def path_of(self, fd):
        """Where the object open as ``fd`` lies inside the root, as the kernel names it
        (for checks only, e.g. "is this under /proc"; never to act on).  Reads the
        caller's own /proc, so only before the switch, while that is the host's."""
        here = os.readlink(f"/proc/self/fd/{fd}")
        top = os.readlink(f"/proc/self/fd/{self.fd}")
        if here == top:
            return "/"
        if top == "/" or here.startswith(top + "/"):
            return "/" + here[len(top):].lstrip("/")
        raise InRootError(f"{here} is not inside the container's root {top}")

    # ------------------------------------------------------------ creating

    def make(self, path, kind="dir", file_mode=0o644, no_symlinks=False):
        """Create what is missing of ``path`` (directories; with ``kind="file"`` an
        empty file as its last name) and return an O_PATH descriptor of it.

        What exists is used as it is, whatever made it meanwhile.  A dangling
        symlink on the way is followed by hand: its target is created, inside
        the root.  ``no_symlinks`` refuses any symlink on the way instead (for
        /proc and /sys, whose mount must land exactly where it is named)."""
        for _ in range(RETRIES):
            try:
                return self._make(path, kind, file_mode, no_symlinks)
            except _Vanished:  # what we made was moved away before we could open it
                continue
        raise InRootError(f"{path}: the rootfs kept changing while it was created (renames racing the runtime)")

    def _make(self, path, kind, file_mode, no_symlinks):
        """One attempt of ``make``; _Vanished if a racer undid it meanwhile."""
        resolve = shim.RESOLVE_NO_SYMLINKS if no_symlinks else 0
        try:
            return self.open(path, resolve=resolve)  # the common case: it is all there
        except FileNotFoundError:
            pass
        todo, done, links = components(path), [], 0
        while todo:
            name = todo.pop(0)
            prefix = done + [name]
            try:
                os.close(self.open("/".join(prefix), resolve=resolve))
                done = prefix
                continue
            except FileNotFoundError:
                pass
            parent = self.open("/".join(done), os.O_PATH | os.O_DIRECTORY, resolve)
            try:
                if _create(parent, name, kind == "file" and not todo, file_mode):
                    done = prefix
                    continue
                # It exists, yet it did not resolve: a dangling symlink (or a racer's
                # work, which the next round sees as it now is).
                try:
                    target = os.readlink(name, dir_fd=parent)
                except OSError:
                    done = prefix
                    continue
                if no_symlinks:
                    raise OSError(40, os.strerror(40), "/" + "/".join(prefix))  # ELOOP
                links += 1
                if links > MAX_SYMLINKS:
                    raise InRootError(f"too many levels of symbolic links resolving {path} in the rootfs")
                if target.startswith("/"):
                    done = []
                todo = components(target) + todo
            finally:
                os.close(parent)
        try:
            return self.open("/".join(done), resolve=resolve)
        except FileNotFoundError:
            raise _Vanished() from None

    def replace_node(self, path, mode, device, uid=None, gid=None):
        """mknod ``path`` (its parent created if missing); an existing non-directory
        entry of that name is removed first.  Returns the O_PATH descriptor of the node."""
        parent, name = self.parent(path, create=True)
        try:
            if clear_name(parent, name) == "directory":
                raise InRootError(f"{path} is a directory in the container")
            os.mknod(name, mode, device, dir_fd=parent)
            if uid is not None:
                os.chown(name, uid, gid, dir_fd=parent, follow_symlinks=False)
            return os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
        finally:
            os.close(parent)


def clear_name(parent, name):
    """Make room for a new entry ``name`` in the directory open as ``parent``: a
    non-directory there (a symlink too: never followed) is unlinked.  Returns
    "directory" if a directory is there (left alone), else None."""
    try:
        existing = os.stat(name, dir_fd=parent, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(existing.st_mode):
        return "directory"
    os.unlink(name, dir_fd=parent)
    return None


def _create(parent, name, is_file, file_mode):
    """mkdirat (0755) / openat(O_CREAT|O_EXCL|O_NOFOLLOW) of one name; False if it exists."""
    try:
        if is_file:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                             file_mode, dir_fd=parent))
        else:
            os.mkdir(name, 0o755, dir_fd=parent)
        return True
    except FileExistsError:
        return False
