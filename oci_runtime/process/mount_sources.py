"""Bind sources a user-namespaced container's root cannot reach, opened for it.

In a new user namespace the init is root only over the ids it maps: a bind
source under a host directory it cannot search (a 0700 directory owned by the
host's root) is out of its reach, though the config's author -- who named the
source -- may read it.  runc opens such sources on the host side; so does this:

  init   tries the source itself first; on EACCES it asks create
         ({"type": "mountsource", "path": ...}) and waits;
  create forks a helper that joins the init's mount namespace (as the host's
         root, so every directory can be searched) and opens the source there
         O_PATH; the descriptor travels back (SCM_RIGHTS) to create and on to
         the init, whose open_tree clones it in its own namespace.

One request per mount, when that mount is made: a source inside the rootfs sees
the mounts listed before it.  Nothing the helper reads decides anything but which
object it opens.  It never opens a source named inside the rootfs (the image's
ground: a directory there closed to the mapped root can hold a symlink to any
host directory, which the host's root would follow and hand to the container;
security/test_mount_sources.py), and refuses one that resolves inside it.  The
clone is made in the container's mount namespace, so the flags the kernel locks
there stay locked.
"""
import os

from oci_runtime import importguard, shim
from oci_runtime import sockets as socket  # socket without its enum imports
from oci_runtime.errors import OCIError
from oci_runtime.process.messages import Reader, send
from oci_runtime.rootfs.inroot import at_or_under


class SourceError(OCIError):
    pass


# ------------------------------------------------------------------ the init's side

def requester(fd):
    """A function path -> O_PATH descriptor that asks create over ``fd``."""
    def ask(path):
        send(fd, "mountsource", path=path)
        reader = Reader(fd)
        reply = reader.next()
        if not reply or reply.get("type") != "mountsource":
            os._exit(1)  # create is gone or failing: it reports its own error
        if reply.get("error"):
            raise SourceError(reply["error"])
        source = reader.take_fd()
        if source is None:
            raise SourceError("create sent no descriptor for the source")
        return source
    return ask


# ------------------------------------------------------------------ create's side

def serve(sync_fd, init_pid, path, rootfs_dir):
    """Answer one request: the descriptor of ``path`` opened in the mount namespace
    of ``init_pid``, or the reason it could not be."""
    try:
        source = open_in_namespace(init_pid, path, rootfs_dir)
    except SourceError as exc:
        send(sync_fd, "mountsource", error=str(exc))
        return
    sock = socket.socket(fileno=sync_fd)
    try:
        socket.send_fds(sock, [b'{"type": "mountsource"}\n'], [source])
    finally:
        sock.detach()  # the descriptor stays create's
        os.close(source)


def open_in_namespace(init_pid, path, rootfs_dir):
    if at_or_under(path, rootfs_dir):
        # The image's ground: a directory there closed to the mapped root may hold a
        # symlink to anywhere, which the host's root would follow.
        raise SourceError("the source is inside the rootfs, where the container's root cannot reach it: "
                          "it is not opened with the host's privileges (make it readable to the mapped root)")
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the helper, reported through the socket
            ours.close()
            _helper(theirs, init_pid, path, rootfs_dir)
        theirs.close()
        try:
            data, fds, _, _ = socket.recv_fds(ours, 4096, 1, socket.MSG_CMSG_CLOEXEC)
        finally:
            os.waitpid(pid, 0)
    finally:
        ours.close()
    if fds:
        return fds[0]
    raise SourceError(data.decode(errors="replace") or "the helper that opens the source died")


def _helper(sock, init_pid, path, rootfs_dir):
    status = 1
    try:
        ns = os.open(f"/proc/{init_pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        importguard.seal()  # the container's mount namespace is next: nothing imported from here on
        shim.setns(ns, shim.CLONE_NEWNS)
        os.close(ns)
        try:
            source = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            raise SourceError("source does not exist") from None
        where = os.readlink(f"/proc/self/fd/{source}")
        if at_or_under(where, rootfs_dir):
            raise SourceError(f"the source resolves inside the rootfs ({where}) but the container's root "
                              "cannot reach it: make it readable to the mapped root in the image")
        socket.send_fds(sock, [b"ok"], [source])
        status = 0
    except SourceError as exc:
        sock.sendall(str(exc).encode())
    except OSError as exc:
        sock.sendall(f"opening the source for the user namespace: {exc.strerror}".encode())
    finally:
        os._exit(status)
