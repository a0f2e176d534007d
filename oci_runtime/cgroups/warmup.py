"""Start the kernel's wait for a cgroup migration early, in the background.

Why: the first write to any ``cgroup.procs`` after a quiet spell blocks for an
RCU grace period (the kernel switches its global threadgroup rwsem to the
writer side: 8-30 ms here), and every later write within about two grace
periods of the last one is fast.  `create`, `run` and `exec` must write the
new process's pid, and nothing can overlap that write in the child.  So right
at the start of those commands (in the C launcher, before Python starts; here,
when the runtime was started some other way) a helper process or a thread
writes this process's own pid into the cgroup v2 cgroup it is already in: a
no-op migration that starts the grace period while the command is still
importing, reading config.json and making the cgroups.  The child's real
attach then waits only for what is left (runc gets the same overlap by
attaching from the parent while its child starts).

The launcher's helper keeps that fast path open: it writes again every few
milliseconds until ``attached()`` closes its pipe (cffi_build/launcher.c,
warm_cgroups).  A single second write once the command was imported (what
``refresh()`` did with the helper until 2026-12-08) came ~25 ms in, about
when the window had closed: that write then started a new grace period while
holding the kernel's cgroup_mutex, and create's mkdirs of the container's
cgroups, a few ms later, waited for it (3 of 8 creates, ~4 ms each).

Only the cgroup v2 hierarchy is poked, only our own current cgroup, and any
error is ignored: this changes timing, never behaviour.  On a v1-only host
nothing is done.
"""
import _thread
import os

_started = []
_helper = []  # pid of the launcher's helper process, until it is reaped
_helper_pipe = []  # write end of the helper's pipe: it keeps the fast path open until this closes


def started_elsewhere(helper_pid, pipe_fd=None):
    """The C launcher has already started it (before Python was running: far
    earlier than this module can), so start() does nothing more.  Its helper
    process is our child: reap_helper() collects it.  Given ``pipe_fd``, the
    helper keeps the fast path open until attached() closes it, so refresh()
    has nothing to do."""
    _started.append(True)
    if helper_pid:
        _helper.append(helper_pid)
    if pipe_fd is not None:
        _helper_pipe.append(pipe_fd)


def reap_helper():
    """Reap the launcher's helper (once): at exit, and before run/exec wait for a
    long-lived process, so no zombie waits with them.  Closing its pipe first
    makes it exit if attached() never came (an error before the attach, say)."""
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
    A write within the window of the last one costs nothing and keeps the fast
    path open longer, so the container's attach, which comes later still, does
    not find it closed again; if it has closed already, the wait starts now
    rather than at the attach.  Only without the launcher's helper (which keeps
    the window open itself until ``attached()``): a thread does it."""
    if _helper_pipe:
        return
    try:
        _thread.start_new_thread(_poke, ())
    except RuntimeError:
        pass


def attached():
    """The container's process has joined its cgroups: the launcher's helper may
    stop keeping the fast path open (it exits when its pipe closes; it is reaped
    by reap_helper())."""
    _close_helper_pipe()


def forget_in_child():
    """In a child forked by the runtime: close the copy of the helper's pipe it
    inherited (the parent still holds its own), so no process that enters the
    container holds a descriptor of the runtime's, and the helper's EOF does not
    wait for this child's exec.  The helper is the parent's child, not ours."""
    _close_helper_pipe()
    del _helper[:]


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
