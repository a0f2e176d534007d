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
"""
import json
import os
import signal
import subprocess

from oci_runtime import log
from oci_runtime.errors import OCIError

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
        result = _run_in_own_group(args, path, env, json.dumps(state_doc).encode(), timeout, cwd)
    except subprocess.TimeoutExpired:
        raise OCIError(f"{where}: timed out after {timeout}s (killed)") from None
    except OSError as exc:
        raise OCIError(f"{where}: {exc.strerror}") from None
    if result.returncode != 0:
        status = (f"killed by signal {-result.returncode}" if result.returncode < 0
                  else f"exit status {result.returncode}")
        raise OCIError(f"{where}: {status}, stdout: {result.stdout.decode(errors='replace').strip()}, "
                       f"stderr: {result.stderr.decode(errors='replace').strip()}")


def _run_in_own_group(args, path, env, stdin, timeout, cwd):
    """Run the hook as leader of a new process group, so a timeout kills what it
    forked too (a hung `sh -c 'sleep 1000; ...'` leaves no orphan behind)."""
    proc = subprocess.Popen(args, executable=path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, close_fds=True, cwd=cwd, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(stdin, timeout=timeout)
    except BaseException:
        _kill_group(proc.pid)
        proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
        raise
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


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
