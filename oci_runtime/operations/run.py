"""`oci-runtime run`: create, start, and (unless --detach) wait and return the exit status.

While it waits, run forwards the usual terminating signals to the init (as
runc's signal proxy does) and, for a terminal container started without
--console-socket, relays between its own stdio and the container's pty.
The runtime is a child subreaper from create on, so the init becomes its
child and its real exit status can be collected.
"""
import os
import select
from oci_runtime import signals as signal  # signal without its enum imports
from oci_runtime import sockets as socket  # socket without its enum imports
import sys

from oci_runtime import config as config_mod, faults, shim
from oci_runtime.cgroups import warmup
from oci_runtime.operations import start as start_op
from oci_runtime.operations.create import options_from
from oci_runtime.operations.delete import destroy
from oci_runtime.process import create
from oci_runtime.state import open_container

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
             signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH)


def main(g, opts, args):
    container_id = args[0]
    create_options = options_from(opts)
    config = config_mod.load(create_options.bundle)
    relay = None
    if config["process"].get("terminal") and not create_options.console_socket:
        if opts["detach"]:
            from oci_runtime.errors import OCIError

            raise OCIError("cannot allocate tty if oci-runtime will detach without setting console socket")
        relay, create_options.console_connection = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    shim.prctl(shim.PR_SET_CHILD_SUBREAPER, 1)
    st = create(g["root"], container_id, config, create_options)
    warmup.reap_helper()  # the launcher's cgroup warm-up helper: done by now
    master = _receive_master(relay) if relay else None
    if opts["detach"]:
        start_op.main(g, {}, [container_id])
        return 0
    pid = st.pid
    for signum in FORWARDED:
        signal.signal(signum, lambda s, _f: _forward(pid, s))
    try:
        start_op.main(g, {}, [container_id])
        faults.point("run:waiting")  # a caller killed while the container runs
        status = _relay_until_exit(master, pid) if master is not None else _wait(pid)
    finally:
        if not opts["keep"]:
            st, lock = open_container(g["root"], container_id)
            with lock:
                faults.point("run:deleting")
                destroy(st)
    return status


def _forward(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _wait(pid):
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 255
        return _exit_code(status)


def _exit_code(status):
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _receive_master(sock):
    _msg, fds, _flags, _addr = socket.recv_fds(sock, 4096, 1)
    sock.close()
    return fds[0]


def _relay_until_exit(master, pid):
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
                return _exit_code(status)
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
