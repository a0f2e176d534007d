"""Waiting for a container's process in the foreground: `run` and `exec` without --detach.

While it waits, the runtime forwards the usual terminating signals to the
process (as runc's signal proxy does) and, for a terminal process started
without --console-socket, relays between its own stdio and the process's pty
(whose master came over a socket: receive_master).  The exit status is the
shell's convention: the code, or 128 + the signal number.
"""
import os
import select
from oci_runtime import signals as signal  # signal without its enum imports
from oci_runtime import sockets as socket  # socket without its enum imports
import sys

from oci_runtime.errors import OCIError

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
             signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)


def forward(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def wait_for_exit(pid):
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 255
        return exit_code(status)


def exit_code(status):
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def receive_master(sock):
    _msg, fds, _flags, _addr = socket.recv_fds(sock, 4096, 1)
    sock.close()
    return fds[0]


def relay_until_exit(master, pid):
    """Copy stdin -> pty and pty -> stdout until the container's init exits."""
    import termios
    import tty

    saved = None
    if os.isatty(0):
        saved = termios.tcgetattr(0)
        tty.setraw(0)
    sources = [master, 0]
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                _drain(master)
                return exit_code(status)
            try:
                ready, _, _ = select.select(sources, [], [], 0.05)
            except InterruptedError:
                continue
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if data:
                    sys.stdout.buffer.write(data)
                    sys.stdout.flush()
            if 0 in ready:
                data = os.read(0, 65536)
                if data:
                    os.write(master, data)
                else:
                    sources.remove(0)
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)


def _drain(master):
    while select.select([master], [], [], 0)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:
            return
        if not data:
            return
        sys.stdout.buffer.write(data)
    sys.stdout.flush()


def forward_signals(pid):
    """Pass FORWARDED signals on to ``pid`` until this process exits."""
    for signum in FORWARDED:
        signal.signal(signum, lambda s, _f: forward(pid, s))


def wait_in_foreground(pid, master=None):
    """Relay the pty if there is one; return the exit status (signals: forward_signals)."""
    return relay_until_exit(master, pid) if master is not None else wait_for_exit(pid)


def connect_console_socket(path):
    """A connection to --console-socket, where the pty master will be sent."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(os.path.abspath(path))
    except OSError as exc:
        sock.close()
        raise OCIError(f"--console-socket {path}: {exc.strerror}") from None
    return sock
