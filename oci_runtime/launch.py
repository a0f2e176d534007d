"""Entry point of the installed `oci-runtime` command (the C launcher, cffi_build/launcher.c).

It runs ``cli.main`` and then exits without tearing the interpreter down:
finalization (freeing every module, running the GC) costs ~1.3 ms per command
and does nothing the kernel does not do at exit, once stdout and stderr are
flushed.  When anything registered exit work (atexit, other threads) or a
flush fails, the normal interpreter exit runs instead, with its usual
reporting.
"""
import sys


def main():
    from oci_runtime.cli import main as cli_main

    status = cli_main()
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
