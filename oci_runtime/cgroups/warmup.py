"""Start the kernel's wait for a cgroup migration early, in the background.

Why: the first write to any ``cgroup.procs`` after a quiet spell blocks for an
RCU grace period (the kernel switches its global threadgroup rwsem to the
writer side: ~10-15 ms here), and every later write within that period is
fast.  `create`, `run` and `exec` must write the new process's pid, and
nothing can overlap that write in the child.  So right at the start of those
commands a thread writes this process's own pid into the cgroup v2 cgroup it
is already in: a no-op migration that starts the grace period while the
command is still importing, reading config.json and making the cgroups.  The
child's real attach then waits only for what is left (runc gets the same
overlap by attaching from the parent while its child starts).

Only the cgroup v2 hierarchy is poked, only our own current cgroup, and any
error is ignored: this changes timing, never behaviour.  On a v1-only host
nothing is done.
"""
import _thread
import os


def start():
    """Begin the grace period in a background thread; returns at once."""
    try:
        _thread.start_new_thread(_poke, ())
    except RuntimeError:
        pass


def _poke():
    try:
        path = _own_v2_procs()
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, str(os.getpid()).encode())
            finally:
                os.close(fd)
    except BaseException:  # noqa: BLE001 - an optimisation must never report anything
        pass


def _own_v2_procs():
    """cgroup.procs of the cgroup v2 cgroup this process is in, or None."""
    from oci_runtime.cgroups import hierarchies

    mountpoint = hierarchies().get("unified")
    if not mountpoint:
        return None
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                own = line[3:].strip()
                return os.path.join(mountpoint, own.lstrip("/"), "cgroup.procs")
    return None
