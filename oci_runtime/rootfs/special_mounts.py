"""The two mount kinds few configs use, loaded only for a config that does
(lifecycle.create.Spawn.load_modules, before the child seals its imports):

  copy_up         tmpcopyup: a new tmpfs starts with a copy of what the image had
                  at its destination, descriptor to descriptor
  mapped_user_namespace
                  idmap / ridmap bind mounts: the user namespace (held by a
                  descriptor) that carries a mount's uidMappings/gidMappings

Kept apart from mounts.py so that the common create does not load their code.
"""
import os
import stat

from oci_runtime import shim
from oci_runtime.errors import OCIError


def copy_up(target, tmpfs, what):
    """tmpcopyup: the new (still detached) tmpfs starts with a copy of what the image
    had at the destination.  Everything is copied descriptor to descriptor, no
    name followed (a symlink is copied as a symlink), so a racer cannot make it
    copy anything from outside that directory."""
    try:
        source = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=target)
        try:
            top = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=tmpfs)
            try:
                copy_tree(source, top)
                st = os.fstat(source)
                os.fchown(top, st.st_uid, st.st_gid)
                os.fchmod(top, stat.S_IMODE(st.st_mode))
            finally:
                os.close(top)
        finally:
            os.close(source)
    except OSError as exc:
        raise OCIError(f"{what}: copying up the directory's contents: {exc.strerror}") from None


def copy_tree(src, dst):
    """Copy the directory open as ``src`` into the one open as ``dst`` (both real
    directory descriptors), keeping types, modes, owners and times."""
    with os.scandir(src) as entries:
        names = [entry.name for entry in entries]
    for name in names:
        st = os.stat(name, dir_fd=src, follow_symlinks=False)
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFDIR:
            os.mkdir(name, 0o700, dir_fd=dst)
            inner_src = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src)
            try:
                inner_dst = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dst)
                try:
                    copy_tree(inner_src, inner_dst)
                finally:
                    os.close(inner_dst)
            finally:
                os.close(inner_src)
        elif kind == stat.S_IFREG:
            _copy_file(src, dst, name)
        elif kind == stat.S_IFLNK:
            os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
        else:  # fifo, socket, device node: the same node again
            os.mknod(name, st.st_mode, st.st_rdev, dir_fd=dst)
        os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
        if kind != stat.S_IFLNK:
            os.chmod(name, stat.S_IMODE(st.st_mode), dir_fd=dst)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst, follow_symlinks=False)


def _copy_file(src, dst, name):
    fin = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src)
    try:
        fout = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                       dir_fd=dst)
        try:
            size = os.fstat(fin).st_size
            offset = 0
            while offset < size:
                sent = os.sendfile(fout, fin, offset, size - offset)
                if sent == 0:
                    break
                offset += sent
        finally:
            os.close(fout)
    finally:
        os.close(fin)


def mapped_user_namespace(uid_maps, gid_maps):
    """A user namespace with the given mappings, held open by fd (its process is gone)."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.close(done_w)
            shim.unshare(shim.CLONE_NEWUSER)
            # /proc is still the host's procfs here (this runs before pivot_root in a
            # new pid namespace): /proc/self names this process by its host pid.
            os.write(ready_w, os.readlink("/proc/self").encode())
            os.read(done_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        proc_pid = os.read(ready_r, 32).decode()
        if not proc_pid.isdigit():
            raise OCIError("idmapped mount: could not create a user namespace")
        try:
            for name, maps in (("uid_map", uid_maps), ("gid_map", gid_maps)):
                with open(f"/proc/{proc_pid}/{name}", "w") as f:
                    f.write("".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in maps))
            return os.open(f"/proc/{proc_pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise OCIError(f"idmapped mount: writing the mount's id mappings: {exc.strerror}") from None
    finally:
        os.close(ready_r)
        os.close(done_w)
        os.waitpid(pid, 0)
