"""Named fault points: crash or stall the runtime at a chosen step, for tests.

The reliability and security tests must interrupt the runtime at exact places
(between the fork and the exec of the waiter, after the cgroup exists but
before state.json does, ...).  Timing tricks are flaky, so the code paths call
``faults.point("name")`` and the tests set, in the runtime's environment::

    OCI_RUNTIME_FAULT="create:after-cgroup=kill,exec:in-container=sleep:0.5"

Actions: ``kill`` (SIGKILL to this process: a crash, nothing runs after it),
``sleep:SECONDS`` (widen a race window), ``exit:CODE`` (_exit without cleanup),
``import:MODULE`` (a first import at that point, as a lazy import in an error
path would do: the security tests prove it cannot run the image's code).
Without the variable a point costs one dict lookup; the variable can only be
set by whoever runs the runtime, who is root already.
"""
import os

from oci_runtime import lazyos

ENV = "OCI_RUNTIME_FAULT"


def _parse(text):
    actions = {}
    for item in (text or "").split(","):
        name, sep, action = item.strip().partition("=")
        if name and sep:
            actions[name] = action
    return actions


_ACTIONS = _parse(lazyos.Environment.get(ENV))  # not os.environ: that would import os.py (lazyos.py)


def point(name):
    """Carry out the fault configured for ``name``, if any."""
    if not _ACTIONS:
        return
    action = _ACTIONS.get(name)
    if action is None:
        return
    kind, _, arg = action.partition(":")
    if kind == "sleep":
        import time  # built into the interpreter: no file is read

        time.sleep(float(arg or 1))
    elif kind == "exit":
        os._exit(int(arg or 1))
    elif kind == "kill":
        os.kill(os.getpid(), 9)  # SIGKILL, without importing signal
        os._exit(137)  # pid 1 of a pid namespace ignores its own SIGKILL
    elif kind == "import":
        __import__(arg)
