"""The forks of create and exec, and the channel to them.

Both commands fork a child with a socketpair (``fork_with_channel``), serve its
messages (messages.py) until the container's process is ready, and run the
child's body under ``child_guard``: failures reach the parent as one error
message, log lines are relayed, and Python imports are sealed before the child
touches any namespace of the container (importguard.py).  What the children
do inside is container_init.py (create) and lifecycle/execute.py (exec).
"""
import gc
import os
from oci_runtime import signals as signal  # signal without its enum imports
from oci_runtime import sockets as socket  # socket without its enum imports

from oci_runtime import importguard, log, namespaces, shim
from oci_runtime.cgroups import warmup
from oci_runtime.errors import OCIError
from oci_runtime.process.messages import Reader, describe, send


def fork_with_channel(child_body, serve, fork=os.fork):
    """Fork ``child_body(fd)`` (it never returns) with a socketpair to it, and run
    ``serve(Reader, child_pid)`` here until the children are done.  This process is a
    child subreaper meanwhile, so grandchildren re-parent to it when the child exits.
    Shared by create and exec."""
    try:
        parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as exc:
        raise OCIError(f"creating the socket to the container's process: {exc.strerror}") from None
    shim.prctl(shim.PR_SET_CHILD_SUBREAPER, 1)
    # Frozen for the fork: the child's garbage collections then never walk the
    # parent's objects, which would copy every page they sit on (copy-on-write);
    # that was ~1.4 ms of the child's CPU in every create.
    gc.freeze()
    try:
        try:
            pid = fork()
        except BaseException:
            gc.unfreeze()
            raise
        if pid == 0:
            parent_end.close()
            warmup.forget_in_child()  # the launcher's helper pipe is the parent's alone
            child_body(child_end.detach())
        gc.unfreeze()
        child_end.close()
        return serve(Reader(parent_end.fileno()), pid)
    finally:
        parent_end.close()
        shim.prctl(shim.PR_SET_CHILD_SUBREAPER, 0)


def fork_into_new_pid_namespace():
    """os.fork() whose child is pid 1 of a new pid namespace.

    unshare(CLONE_NEWPID) moves only this process's *future children* into a new
    namespace, never this process itself; the namespace for children is set back
    to our own right after the fork, so hooks and anything else create forks
    later stay on the host.
    """
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            shim.unshare(namespaces.FLAGS["pid"])
        except OSError as exc:
            raise OCIError(f"creating namespaces: {exc.strerror}") from None
        pid = -1
        try:
            pid = os.fork()
        finally:
            if pid != 0:
                shim.setns(own, namespaces.FLAGS["pid"])
        return pid
    finally:
        os.close(own)


def listener_fd(reader):
    fd = reader.take_fd()
    if fd is None:
        raise OCIError("the container init announced a seccomp listener fd but sent none")
    return fd


def hand_seccomp_listener(sync_fd, listener_fd, profile, pid, state_doc):
    """Pass a notify filter's fd to linux.seccomp.listenerPath, then let the waiting
    C init go on (it blocks on one byte).  Shared by create and exec."""
    from oci_runtime import seccomp

    try:
        seccomp.send_to_listener(profile, listener_fd, pid, state_doc)
    finally:
        os.close(listener_fd)
    os.write(sync_fd, b"\n")


def hide_from_container():
    """Make this process non-dumpable before it joins or creates the container's
    namespaces: a process of the container then cannot ptrace it or open its
    /proc/PID/exe, /proc/PID/mem or map_files (the host interpreter and the shim
    library, CVE-2019-5736), even as the same uid.  The exec of the C waiter
    resets it; the waiter sets it again at once (cffi_build/init.c)."""
    shim.prctl(shim.PR_SET_DUMPABLE, 0)


def reap(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def child_guard(fd, body, load=None):
    """Run a child's body; any failure becomes an error message, never a traceback.
    Its log lines go to the parent too (log.py): the child never writes the log.
    ``load`` imports what the body needs, before imports are sealed."""
    log.relay_to(fd)
    try:
        if load is not None:
            load()
        importguard.seal()  # before any namespace of the container is joined or made
        body()
    except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
        try:
            send(fd, "error", msg=describe(exc))
        finally:
            os._exit(1)
    os._exit(0)


def join_namespaces(joins):
    for kind, path in joins:
        ns_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            shim.setns(ns_fd, namespaces.FLAGS[kind])
        except OSError as exc:
            raise OCIError(f"joining {kind} namespace {path}: {exc.strerror}") from None
        finally:
            os.close(ns_fd)


class AwaitReady:
    """The parent's side of the channel, shared by create and exec: serve the
    children's messages until the container's process is known ("pid") and the C
    waiter has said "ready" ("ready" can overtake the intermediate's "pid").

    Here: "log" lines are replayed into --log, "error" ends it with the child's
    own words, a "seccomp" listener fd is handed on once the pid is known (the
    waiter blocks until then), EOF means the child died.  A command's own
    messages are its subclass's ``on_<type>`` methods; unknown types are ignored.
    Returns the process's pid."""

    failure = "the container's process failed"  # an "error" without a message

    def __init__(self, reader, child_pid):
        self.reader = reader
        self.child_pid = child_pid  # the forked child, until "pid" makes the process known
        self.pid = 0  # the container's process
        self.ready = False
        self.listener = None

    def run(self):
        try:
            while True:
                message = self.reader.next()
                if message is None:
                    raise OCIError(self.died())
                kind = message.get("type")
                if kind == "log":
                    log.replay(message)
                elif kind == "error":
                    self.failed()
                    raise OCIError(message.get("msg") or self.failure)
                elif kind == "seccomp":
                    self.listener = listener_fd(self.reader)
                elif kind == "ready":
                    self.on_ready(message)
                else:
                    getattr(self, f"on_{kind}", _ignore)(message)
                if self.listener is not None and self.pid:
                    listener, self.listener = self.listener, None
                    self.hand_listener(listener)  # closes it
                if self.ready and self.pid:
                    return self.pid
                self.after_message()
        finally:
            if self.listener is not None:
                os.close(self.listener)
            self.finish()

    def on_ready(self, message):
        self.ready = True

    # Overridden by create and exec:
    def died(self):
        """The error when the channel closed before "ready" (reaps what it must)."""
        return "the container's process exited before it was ready"

    def failed(self):
        """Clean-up before an "error" message is raised."""

    def hand_listener(self, listener):
        raise NotImplementedError

    def after_message(self):
        """Work that waits until a message has been handled (create's hooks)."""

    def finish(self):
        """Always, at the end (create reaps a child that is still there)."""


def _ignore(message):
    pass



def died_before_ready(pid, cgroup=None):
    """Why create's init ended before "ready" (reaping it): the OOM killer (a
    memory limit too low for the set-up), a signal, or its exit status."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = None
    if cgroup is not None and cgroup.oom_kills():
        return ("container init was killed by the OOM killer: out of memory during container setup "
                "(linux.resources.memory.limit is too low)")
    if status is None:
        return "container init exited before it was ready"
    if os.WIFSIGNALED(status):
        return f"container init was killed by signal {os.WTERMSIG(status)} before it was ready"
    return f"container init exited with status {os.waitstatus_to_exitcode(status)} before it was ready"
