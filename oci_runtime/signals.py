"""Signal numbers and names without `import signal`.

Why: `signal` wraps the C module `_signal` to build IntEnum classes at import,
which pulls in enum, functools and collections (~3.5 ms on every kill, delete,
create and run).  The runtime only needs the numbers, the handlers and a
name lookup.  Drop-in for what it uses: ``from oci_runtime import signals as signal``.
"""
import _signal
from _signal import (NSIG, SIGHUP, SIGINT, SIGKILL, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH,
                     pidfd_send_signal, signal)

__all__ = ["NSIG", "SIGHUP", "SIGINT", "SIGKILL", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2",
           "SIGWINCH", "pidfd_send_signal", "signal", "number"]


def number(name):
    """The number of a signal by its exact name ("SIGKILL", "SIGRTMIN", aliases such as
    "SIGIOT" too), as signal.Signals[name]; KeyError for anything else."""
    if name.isupper() and name.startswith("SIG") and not name.startswith("SIG_"):
        value = getattr(_signal, name, None)
        if type(value) is int:
            return value
    raise KeyError(name)
