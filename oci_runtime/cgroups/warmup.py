"""Start the kernel's wait for a cgroup migration early, in the background.

Why: the first write to any ``cgroup.procs`` after a quiet spell blocks for an
RCU grace period (the kernel switches its global threadgroup rwsem to the
writer side: ~10-15 ms here), and every later write within that period is
fast.  `create`, `run` and `exec` must write the new process's pid, and
nothing can overlap that write in the child.  So right at the start of those
commands (in the C launcher, before Python starts; here, when the runtime
was started some other way) a helper process or a thread writes this process's own pid into the
cgroup v2 cgroup it is already in: a no-op migration that starts the grace period while the
command is still importing, reading config.json and making the cgroups.  The
child's real attach then waits only for what is left (runc gets the same
overlap by attaching from the parent while its child starts).

Only the cgroup v2 hierarchy is poked, only our own current cgroup, and any
error is ignored: this changes timing, never behaviour.  On a v1-only host
nothing is done.
"""
import _thread
import os

_started = []
_helper = []  # pid of the launcher's helper process, until it is reaped
_helper_pipe = []  # write end of the pipe the helper waits on for refresh()


def started_elsewhere(helper_pid, refresh_fd=None):
    """The C launcher has already started it (before Python was running: far
    earlier than this module can), so start() does nothing more.  Its helper
    process is our child: reap_helper() collects it.  Given ``refresh_fd``, the
    helper also does refresh()'s write, so no thread is needed for it."""
    _started.append(True)
    if helper_pid:
        _helper.append(helper_pid)
    if refresh_fd is not None:
        _helper_pipe.append(refresh_fd)


def reap_helper():
    """Reap the launcher's helper (once; it lives one or two grace periods): at
    exit, and before run/exec wait for a long-lived process, so no zombie waits
    with them.  Closing its pipe first lets it exit if refresh() never came."""
    _close_helper_pipe()
    while _helper:
        try:
            os.waitpid(_helper.pop(), 0)
        except ChildProcessError:
            pass


def start():
    """Begin the grace period in a background thread (unless it has been); returns at once."""
    if _started:
        return
    _started.append(True)
    try:
        _thread.start_new_thread(_poke, ())
    except RuntimeError:
        pass


def refresh():
    """Poke once more, once the command's modules are imported (a few ms later).
    A write within one grace period of the last one costs nothing and keeps the
    fast path open a grace period longer, so the container's attach, which
    comes later still, does not find it closed again; if it has closed
    already, the wait starts now rather than at the attach.  The launcher's
    helper does the write when it can (one byte down its pipe; a thread costs
    ~0.25 MiB and a clone), else a thread does."""
    if _helper_pipe:
        try:
            os.write(_helper_pipe[0], b"\0")
        except OSError:
            pass
        _close_helper_pipe()
        return
    try:
        _thread.start_new_thread(_poke, ())
    except RuntimeError:
        pass


def _close_helper_pipe():
    while _helper_pipe:
        try:
            os.close(_helper_pipe.pop())
        except OSError:
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
    from oci_runtime.cgroups import v2_mountpoint

    mountpoint = v2_mountpoint()
    if not mountpoint:
        return None
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                own = line[3:].strip()
                return os.path.join(mountpoint, own.lstrip("/"), "cgroup.procs")
    return None
