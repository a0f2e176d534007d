"""Lifecycle hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle").

Where each kind runs and what a failure does:
  prestart, createRuntime  create, in the runtime's namespaces, after the
                           container's namespaces and mounts exist, before
                           pivot_root                      -> error, container torn down
  createContainer          create, in the container's namespaces (path from
                           the runtime's view), before pivot_root, with the
                           rootfs as its working directory (as runc: a
                           relative path it writes lands in the container,
                           never in the host's "/")  -> error, torn down
  startContainer           start, in the container, just before the user
                           process is exec'd (run by the C init, init.c)
                                                            -> error, container stops
  poststart                start, in the runtime, after the process started
                                                            -> error, container stopped (1.3)
  poststop                 delete, after the container is deleted -> warning only
Each hook gets the container's state JSON on stdin, exactly its own ``args``
(args[0] is argv[0]) and ``env`` (nothing else), and is killed after
``timeout`` seconds.  A startContainer hook without ``env`` gets the process's
environment (process.env, HOME, ...), as under runc, whose init runs it with
its own environment, set to the process's by then; it runs as the process's
user, with its capabilities and under its seccomp filter.  This module is imported only when a config has hooks.

A hook is run with fork and exec here, not through ``subprocess``: importing
subprocess, json and signal costs ~20 ms on a slow day (threading, selectors,
re, enum), and Docker gives every container a prestart hook, run while the
container's init waits; the init (createContainer hooks) loads this module too.
"""
import fcntl
import os
import select
import time

from oci_runtime import fastjson as json  # json without its re/enum imports
from oci_runtime import log
from oci_runtime import signals as signal  # signal without its enum imports
from oci_runtime.errors import OCIError
from oci_runtime.fileio import read_to_end

HOOK_NAMES = ("prestart", "createRuntime", "createContainer", "startContainer",
              "poststart", "poststop")
# Hooks that need a round trip between the init and create, before pivot_root.
CREATE_TIME = ("prestart", "createRuntime", "createContainer", "startContainer")


def wanted(config, names):
    hooks = config["hooks"]
    return any(hooks.get(name) for name in names)


def run_one(kind, index, hook, state_doc, cwd="/"):
    path = hook["path"]
    args = hook.get("args") or [path]
    env = dict(item.split("=", 1) for item in hook.get("env") or ())
    timeout = hook.get("timeout")
    where = f"{kind} hook #{index} ({path})"
    try:
        returncode, stdout, stderr = _run_in_own_group(args, path, env, json.dumps(state_doc).encode(), timeout,
                                                       cwd)
    except TimeoutError:
        raise OCIError(f"{where}: timed out after {timeout}s (killed)") from None
    except OSError as exc:
        raise OCIError(f"{where}: {exc.strerror}") from None
    if returncode != 0:
        status = f"killed by signal {-returncode}" if returncode < 0 else f"exit status {returncode}"
        raise OCIError(f"{where}: {status}, stdout: {stdout.decode(errors='replace').strip()}, "
                       f"stderr: {stderr.decode(errors='replace').strip()}")


def _run_in_own_group(args, path, env, stdin, timeout, cwd):
    """Run the hook as leader of a new session (so a timeout kills what it forked
    too: a hung `sh -c 'sleep 1000; ...'` leaves no orphan behind), ``stdin`` on
    its stdin, nothing else open.  Returns (exit code, negative for a signal,
    stdout, stderr); TimeoutError once killed after ``timeout`` seconds; the
    OSError of its exec (ENOENT, EACCES...) as the exec raised it."""
    pipes = [os.pipe() for _ in range(4)]  # stdin, stdout, stderr, exec error: all close-on-exec
    (in_r, in_w), (out_r, out_w), (err_r, err_w), (exec_r, exec_w) = pipes
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; reports a failed exec through exec_w
        try:
            os.setsid()
            os.chdir(cwd)
            # Copies at 3 or above first: a pipe end may itself be 0, 1 or 2 when the
            # runtime was started with one of them closed.
            copies = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) for fd in (in_r, out_w, err_w)]
            for target, fd in enumerate(copies):
                os.dup2(fd, target)  # inheritable
            os.closerange(3, exec_w)
            os.closerange(exec_w + 1, 1 << 20)
            os.execve(path, args, env)
        except OSError as exc:
            os.write(exec_w, str(exc.errno).encode())
        finally:
            os._exit(127)
    for fd in (in_r, out_w, err_w, exec_w):
        os.close(fd)
    try:
        try:
            failed = read_to_end(exec_r)  # empty: the exec happened (close-on-exec closed it)
        finally:
            os.close(exec_r)
        if failed:
            for fd in (in_w, out_r, err_r):
                os.close(fd)
            os.waitpid(pid, 0)
            errno = int(failed)
            raise OSError(errno, os.strerror(errno), path)
        stdout, stderr = _communicate(in_w, out_r, err_r, stdin, timeout)  # closes the three
    except BaseException:
        _kill_group(pid)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        raise
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), stdout, stderr


def _communicate(in_w, out_r, err_r, data, timeout):
    """Write ``data`` to the hook's stdin while reading its stdout and stderr to
    their ends, within ``timeout`` seconds (None: no limit); TimeoutError after
    it.  Closes the three descriptors."""
    deadline = None if timeout is None else time.monotonic() + timeout
    output = {out_r: [], err_r: []}
    open_fds = {in_w, out_r, err_r}
    poller = select.poll()
    try:
        for fd in (out_r, err_r):
            poller.register(fd, select.POLLIN)
        pending = memoryview(data)
        if pending:
            os.set_blocking(in_w, False)
            poller.register(in_w, select.POLLOUT)
        else:
            os.close(in_w)
            open_fds.discard(in_w)
        while open_fds:
            wait_ms = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            events = poller.poll(wait_ms)
            if not events and deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError()
            for fd, _mask in events:
                if fd == in_w:
                    try:
                        pending = pending[os.write(in_w, pending[:65536]):]
                    except BrokenPipeError:  # it does not read its stdin: not an error (as subprocess)
                        pending = pending[:0]
                    if pending:
                        continue
                else:
                    chunk = os.read(fd, 65536)
                    if chunk:
                        output[fd].append(chunk)
                        continue
                poller.unregister(fd)
                os.close(fd)
                open_fds.discard(fd)
    finally:
        for fd in open_fds:
            os.close(fd)
    return b"".join(output[out_r]), b"".join(output[err_r])


def _kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run(config_hooks, kind, state_doc, warn_only=False, cwd="/"):
    """Run every hook of ``kind`` in order; the first failure raises (or, with
    ``warn_only``, is logged and the rest still run)."""
    for index, hook in enumerate(config_hooks.get(kind) or ()):
        try:
            run_one(kind, index, hook, state_doc, cwd)
        except OCIError as exc:
            if not warn_only:
                raise
            log.warn(str(exc))


def plan_records(config_hooks, state_doc):
    """startContainer hooks as init-plan records for the C init (see init.c)."""
    records = []
    for hook in config_hooks.get("startContainer") or ():
        records.append(f"HOOK={hook['path']}")
        records += [f"HOOKARG={a}" for a in hook.get("args") or [hook["path"]]]
        if "env" in hook:
            records += [f"HOOKENV={e}" for e in hook["env"]]
        else:  # runc runs it with its own environment, which is the process's by then
            records.append("HOOKPROCENV=1")
        if hook.get("timeout"):
            records.append(f"HOOKTIMEOUT={hook['timeout']}")
    if records:
        records.append(f"STATE={json.dumps(state_doc)}")
    return records


def hook_state(state, status):
    """The state document a hook receives (runtime.md "State")."""
    doc = {k: v for k, v in state.data.items() if k not in ("runtime", "rootfs", "created", "owner")}
    doc["status"] = status
    return doc


def run_create_runtime(st):
    """create's side of the init's "hooks" request, made before pivot_root: the
    prestart and createRuntime hooks, in the runtime's namespaces.  Returns the
    state the init's own hooks (createContainer, startContainer) get.

    prestart and createRuntime hooks are told "created" (as crun does, and as the
    runtime-tools suite's hooks_stdin expects of prestart); runc 1.1 says
    "creating".  createContainer hooks get "creating", as under runc
    (docs/spec-coverage.md)."""
    state_doc = hook_state(st, "creating")
    host_side = dict(state_doc, status="created")
    run(st.private["hooks"], "prestart", host_side)
    run(st.private["hooks"], "createRuntime", host_side)
    return state_doc
