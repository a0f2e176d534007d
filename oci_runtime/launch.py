"""Entry point of the installed `oci-runtime` command (the C launcher, cffi_build/launcher.c).

For create/run/exec the launcher has already forked a helper that starts
the cgroup-migration grace period (cffi_build/launcher.c, warm_cgroups); its
pid arrives as ``warmup_pid`` ("0" if none) and is reaped here, so the
runtime leaves no child behind.

It runs ``cli.main`` and then exits without tearing the interpreter down:
finalization (freeing every module, running the GC) costs ~1.3 ms per command
and does nothing the kernel does not do at exit, once stdout and stderr are
flushed.  When anything registered exit work (atexit, other threads) or a
flush fails, the normal interpreter exit runs instead, with its usual
reporting.
"""
import sys


def main(warmup_pid="0"):
    helper = int(warmup_pid) if warmup_pid.isdigit() else 0
    if helper:
        from oci_runtime.cgroups import warmup

        warmup.started_elsewhere(helper)
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
    import os

    os._exit((status or 0) & 0xFF if isinstance(status, int) else 1)
