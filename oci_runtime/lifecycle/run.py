"""run: create, start, and (unless detached) wait for the init and delete the container.

The runtime is a child subreaper from create on, so the init becomes its child
and its real exit status can be collected (process/terminal.py waits, forwards
signals and relays a pty).  A terminal container without a console socket gets
its pty master over a socketpair made here.
"""
from oci_runtime import sockets as socket  # socket without its enum imports

from oci_runtime import faults, shim
from oci_runtime.cgroups import warmup
from oci_runtime.errors import OCIError
from oci_runtime.lifecycle.create import create
from oci_runtime.lifecycle.delete import destroy
from oci_runtime.lifecycle.start import start
from oci_runtime.process import terminal
from oci_runtime.state import open_container


def run(root, container_id, config, opts, detach=False, keep=False, forward_signals=True):
    """Returns 0 when detached, else the init's exit status (128+N for signal N).
    ``opts`` is a lifecycle.create.CreateOptions.  ``forward_signals`` installs
    handlers that pass SIGTERM, SIGINT, ... on to the init (the CLI's signal
    proxy; only possible in the main thread)."""
    relay = None
    if config["process"].get("terminal") and not opts.console_socket:
        if detach:
            raise OCIError("cannot allocate tty if oci-runtime will detach without setting console socket")
        relay, opts.console_connection = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    shim.prctl(shim.PR_SET_CHILD_SUBREAPER, 1)  # the init is re-parented here: its status can be read
    try:
        return _run(root, container_id, config, opts, detach, keep, forward_signals, relay)
    finally:
        shim.prctl(shim.PR_SET_CHILD_SUBREAPER, 0)  # a caller of the API lives on


def _run(root, container_id, config, opts, detach, keep, forward_signals, relay):
    st = create(root, container_id, config, opts)
    warmup.reap_helper()  # the launcher's cgroup warm-up helper: done by now
    master = terminal.receive_master(relay) if relay else None
    if detach:
        start(root, container_id)
        return 0
    if forward_signals:
        terminal.forward_signals(st.pid)
    try:
        start(root, container_id)
        faults.point("run:waiting")  # a caller killed while the container runs
        status = terminal.wait_in_foreground(st.pid, master)
    finally:
        if not keep:
            st, lock = open_container(root, container_id)
            with lock:
                faults.point("run:deleting")
                destroy(st)
    return status
