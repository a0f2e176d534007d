"""oci_runtime.signals / oci_runtime.sockets behave as the stdlib modules they replace (no root)."""
import os
import signal as std_signal
import socket as std_socket

import pytest

from oci_runtime import signals, sockets


def test_every_signal_name_resolves_as_signal_Signals():
    names = [n for n in dir(std_signal) if n.isupper() and n.startswith("SIG") and not n.startswith("SIG_")]
    assert names
    for name in names:
        assert signals.number(name) == int(std_signal.Signals[name]), name
    for bad in ("SIG_DFL", "SIGNOPE", "sigkill", "KILL", ""):
        with pytest.raises(KeyError):
            signals.number(bad)


def test_fd_passing_round_trip_with_the_stdlib():
    ours, theirs = sockets.socketpair(sockets.AF_UNIX, sockets.SOCK_STREAM)
    r, w = os.pipe()
    try:
        sockets.send_fds(ours, [b"x"], [r, w])
        msg, fds, _flags, _addr = std_socket.recv_fds(theirs, 16, 2)
        assert msg == b"x" and len(fds) == 2
        std_socket.send_fds(theirs, [b"y"], [fds[0]])
        msg, got, _flags, _addr = sockets.recv_fds(ours, 16, 1)
        assert msg == b"y" and len(got) == 1
        assert os.path.samestat(os.fstat(got[0]), os.fstat(r))
        for fd in fds + got:
            os.close(fd)
    finally:
        os.close(r)
        os.close(w)
        ours.close()
        theirs.close()


def test_socket_context_manager_and_detach():
    with sockets.socket(sockets.AF_INET, sockets.SOCK_DGRAM) as sock:
        assert sock.fileno() >= 0
    assert sock.fileno() == -1
    a, b = sockets.socketpair()
    fd = a.detach()
    os.close(fd)
    b.close()
