"""The few socket calls the runtime makes, without `import socket`.

Why: the `socket` module builds IntEnum classes at import (it pulls in enum,
functools, collections and selectors: ~2-5 ms on every create, run and
exec).  The C module `_socket` underneath has everything needed; this adds
the context-manager methods and the fd-passing helpers `socket` defines in
Python.  Drop-in for what the runtime uses: ``from oci_runtime import sockets as socket``.
"""
import _socket
import sys
from _socket import (AF_INET, AF_UNIX, CMSG_LEN, CMSG_SPACE, MSG_CMSG_CLOEXEC, SCM_RIGHTS, SOCK_DGRAM,
                     SOCK_STREAM, SOL_SOCKET)

__all__ = ["AF_INET", "AF_UNIX", "CMSG_LEN", "CMSG_SPACE", "MSG_CMSG_CLOEXEC", "SCM_RIGHTS", "SOCK_DGRAM",
           "SOCK_STREAM", "SOL_SOCKET", "socket", "socketpair", "send_fds", "recv_fds", "unpack_fds"]

_INT_SIZE = 4  # SCM_RIGHTS carries C ints


class socket(_socket.socket):  # noqa: N801 - the same name as socket.socket
    """_socket.socket plus ``with`` support (all the runtime uses of socket.socket)."""

    __slots__ = ()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def socketpair(family=AF_UNIX, type=SOCK_STREAM, proto=0):  # noqa: A002 - socket's signature
    a, b = _socket.socketpair(family, type, proto)
    return socket(family, type, proto, a.detach()), socket(family, type, proto, b.detach())


def send_fds(sock, buffers, fds, flags=0, address=None):
    """socket.send_fds: ``buffers`` with ``fds`` attached as SCM_RIGHTS."""
    data = b"".join(fd.to_bytes(_INT_SIZE, sys.byteorder, signed=True) for fd in fds)
    return sock.sendmsg(buffers, [(SOL_SOCKET, SCM_RIGHTS, data)], flags, *((address,) if address else ()))


def recv_fds(sock, bufsize, maxfds, flags=0):
    """socket.recv_fds: (data, [fds], msg flags, address)."""
    msg, ancdata, msg_flags, addr = sock.recvmsg(bufsize, CMSG_LEN(maxfds * _INT_SIZE), flags)
    fds = []
    for level, kind, data in ancdata:
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            fds.extend(unpack_fds(data))
    return msg, fds, msg_flags, addr


def unpack_fds(data):
    """The descriptors in an SCM_RIGHTS payload (a partial trailing int is ignored),
    without the `array` module (whose import pulls in collections)."""
    usable = len(data) - len(data) % _INT_SIZE
    return [int.from_bytes(data[i:i + _INT_SIZE], sys.byteorder, signed=True)
            for i in range(0, usable, _INT_SIZE)]

