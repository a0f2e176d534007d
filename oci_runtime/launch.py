"""Entry point of the installed `oci-runtime` command (the C launcher, cffi_build/launcher.c).

For create/run/exec the launcher has already forked a helper that starts
the cgroup-migration grace period (cffi_build/launcher.c, warm_cgroups); its
pid and the write end of a pipe to it arrive as ``warmup`` ("PID:FD", "0" if
none).  The helper is reaped here, so the runtime leaves no child behind.

It runs ``cli.main`` and then exits without tearing the interpreter down:
finalization (freeing every module, running the GC) costs ~1.3 ms per command
and does nothing the kernel does not do at exit, once stdout and stderr are
flushed.  When anything registered exit work (atexit, other threads) or a
flush fails, the normal interpreter exit runs instead, with its usual
reporting.

The cyclic garbage collector is held back (``COLLECT_AFTER``): with its
default threshold (700 new objects) importing a command's modules ran four
young collections and one of the middle generation, which walks every object
the imports made: ~1.4 ms of `run`'s CPU, and ~0.4 ms more in the forked
child.  A command makes almost no cyclic garbage, so nothing is lost; a
long-running one (`events`, a foreground `run` or `exec`) still collects,
after every COLLECT_AFTER new objects.  Only the command line does this: the
Python API leaves the caller's collector as it is.  For the same reason of
cost, the package's own modules are made without the import system
(fastimport.py), and ``os`` is a stand-in until something needs more than
``posix`` (lazyos.py), also only here.
"""
import gc
import posix  # os's functions without os.py (lazyos.py)
import sys

COLLECT_AFTER = 100_000  # new container objects between two young collections


def main(warmup="0"):
    gc.set_threshold(COLLECT_AFTER)
    from oci_runtime import fastimport

    fastimport.install()
    from oci_runtime import lazyos

    lazyos.install()
    helper, helper_pipe = _helper_of(warmup)
    if helper:
        from oci_runtime.cgroups import warmup

        warmup.started_elsewhere(helper, helper_pipe)
    from oci_runtime.cli import main as cli_main

    try:
        status = cli_main()
    finally:
        if helper:
            warmup.reap_helper()
    import atexit

    threading = sys.modules.get("threading")
    if atexit._ncallbacks() or (threading is not None and threading.active_count() > 1):
        return status
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - the interpreter's own exit reports it
        return status
    posix._exit((status or 0) & 0xFF if isinstance(status, int) else 1)


def _helper_of(text):
    """"PID:FD" (or "PID", or "0") from the launcher -> (pid or 0, fd or None).
    The fd came through exec, so it is made close-on-exec here at once: no
    child of the runtime, and nothing in the container, may inherit it."""
    pid_text, _, fd_text = text.partition(":")
    if not pid_text.isdigit() or pid_text == "0":
        return 0, None
    fd = int(fd_text) if fd_text.isdigit() else None
    if fd is not None:
        try:
            posix.set_inheritable(fd, False)
        except OSError:
            fd = None
    return int(pid_text), fd
