"""Messages between `create` and the processes it forks, over one socketpair.

Each message is one JSON object on one line with a "type":
  {"type": "cgroups"}             create has made the cgroups: the child may join
  {"type": "pid", "pid": N}       the intermediate child reports the init's pid
  {"type": "ready", "msg": ""}    the waiting init (C) has finished set-up
  {"type": "error", "msg": "..."} a child failed; msg is the real cause
  {"type": "log", "level": "warning", "msg": "..."}
                                  a line for --log from a Python child (log.py)
  {"type": "seccomp", "msg": ""}  the C init loaded a notify filter; its listener
                                  fd rides along (SCM_RIGHTS); the init waits
                                  for one byte back before it goes on
  {"type": "mountsource", "path": "..."}
                                  a user-namespaced init cannot reach a bind source:
                                  create answers with the same type, the source's
                                  O_PATH fd riding along, or an "error" field
                                  (mount_sources.py)
The C waiter (cffi_build/init.c) writes the same format, so a failure at any
stage reaches the user as the child's own error, never as "EOF".
"""
from oci_runtime import fastjson as json  # json without its re/enum imports
import os
from oci_runtime import sockets as socket  # socket without its enum imports

from oci_runtime.errors import OCIError


def describe(exc):
    """A one-line, user-facing description of an exception from a child."""
    if isinstance(exc, OCIError):
        return str(exc)
    if isinstance(exc, OSError):
        text = exc.strerror or str(exc)
        return f"{text}: {exc.filename}" if exc.filename else text
    return f"{type(exc).__name__}: {exc}"


def send(fd, kind, **fields):
    fields["type"] = kind
    data = (json.dumps(fields) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


class Reader:
    """Reads JSON-line messages from the parent's end of the socketpair."""

    def __init__(self, fd):
        self.fd = fd
        self.buffer = b""
        self.fds = []  # descriptors received with the messages (SCM_RIGHTS), in order

    def next(self):
        """The next message as a dict, or None at EOF."""
        while b"\n" not in self.buffer:
            chunk = self._receive()
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            # Decoded leniently: the C waiter's messages quote paths byte for byte,
            # and one that is not UTF-8 must cost a U+FFFD, not the whole message.
            return json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            return {"type": "error", "msg": f"garbled message from the container init: {line[:200]!r}"}

    def take_fd(self):
        """The oldest descriptor that came with a message, or None."""
        return self.fds.pop(0) if self.fds else None

    def _receive(self):
        """recvmsg, not read: a read would silently drop descriptors sent along."""
        data, ancillary, _, _ = _recvmsg(self.fd, 65536, socket.CMSG_SPACE(4 * 4))
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                self.fds.extend(socket.unpack_fds(payload))
        return data


def _recvmsg(fd, size, ancillary_size):
    sock = socket.socket(fileno=fd)
    try:
        return sock.recvmsg(size, ancillary_size, socket.MSG_CMSG_CLOEXEC)
    finally:
        sock.detach()  # the descriptor stays the caller's
