"""events: a container's statistics, once or as a stream with its OOM kills."""
import time

from oci_runtime.errors import ContainerNotRunning
from oci_runtime.state import open_container


def stats(root, container_id):
    """runc's `events --stats` data (cpu, memory, pids, blkio, hugetlb, ...)."""
    st = _running(root, container_id)
    return st.cgroup().stats()


def watch(root, container_id, interval):
    """An iterator of ("stats", data) every ``interval`` seconds and ("oom", None)
    whenever the kernel OOM-kills a task in the container, until the container
    stops.  The container is looked up now (a missing or stopped one raises
    here, not at the first ``next``)."""
    return _stream(_running(root, container_id), interval)


def _stream(st, interval):
    cgroup = st.cgroup()
    ooms = cgroup.oom_kills()
    next_stats = 0.0
    while st.status() != "stopped":
        now = time.monotonic()
        if now >= next_stats:
            yield "stats", cgroup.stats()
            next_stats = now + interval
        current = cgroup.oom_kills()
        if current > ooms:
            yield "oom", None
            ooms = current
        time.sleep(min(0.1, interval))


def _running(root, container_id):
    st, lock = open_container(root, container_id)
    lock.release()  # a long-running reader must not block other commands
    if st.status() == "stopped":
        raise ContainerNotRunning()
    return st
