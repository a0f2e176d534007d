"""start: let a created container's init exec the user process.

The waiting init holds the exec fifo open for reading; opening it for
writing without blocking fails with ENXIO if no init is waiting any more.
One byte releases the init; removing the fifo marks the container running.
"""
import errno
import os

from oci_runtime import faults, log
from oci_runtime.errors import ContainerStateError, OCIError
from oci_runtime.state import open_container


def start(root, container_id):
    st, lock = open_container(root, container_id)
    with lock:
        status = st.status()
        if status == "stopped":
            raise ContainerStateError("cannot start a container that has stopped" + _why_stopped(st))
        if status != "created":
            raise ContainerStateError(f"cannot start an already {status} container")
        try:
            fd = os.open(st.fifo_path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                raise ContainerStateError("cannot start a container that has stopped" + _why_stopped(st)) from None
            raise
        faults.point("start:after-fifo-open")
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
        faults.point("start:after-fifo-write")
        log.debug(f"start {container_id}: init pid {st.pid} released through the exec fifo")
        os.unlink(st.fifo_path)
        if st.private.get("hooks", {}).get("poststart"):
            _run_poststart(st)


def _why_stopped(st):
    """The real cause when the kernel knows it (an init OOM-killed while it waited)."""
    if st.cgroup().oom_kills():
        return ": its init was killed by the OOM killer (out of memory during container setup)"
    return ""


def _run_poststart(st):
    """runtime-spec 1.3: a failed poststart hook is an error and the container is stopped."""
    from oci_runtime import hooks
    from oci_runtime.lifecycle.kill import signal_all, signal_init

    try:
        hooks.run(st.private["hooks"], "poststart", hooks.hook_state(st, "running"))
    except OCIError:
        signal_init(st, 9)
        signal_all(st, 9)
        raise
