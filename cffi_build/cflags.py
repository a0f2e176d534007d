"""Compiler calls for the two C programs that are not cffi's: shared by setup.py and
benchmarks/lifecycle.py (its floor row must be built exactly as the installed launcher)."""
import shutil
import sys
import sysconfig

# The waiter runs as the container's pid 1 until it execs the user's program, on
# input from the bundle: build it with the usual hardening, and position-independent
# (static-pie) so its code gets ASLR like every other program on the host.
HARDENING = ["-fstack-protector-strong", "-D_FORTIFY_SOURCE=2", "-Wl,-z,relro,-z,now"]


def cc():
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return compiler if shutil.which(compiler) else "cc"


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def launcher_command(output, source, defines=(), static=True, python=sys.executable):
    """The launcher's compiler call.  Static-pie: it only forks and execs, and without
    ld.so mapping and relocating libc it starts ~0.35 ms sooner on every call (paired,
    100 `state` calls: 0.977x); position-independent, so it keeps ASLR.  ``static=False``
    is the fallback where no static libc is installed."""
    version = "%d.%d" % sys.version_info[:2]
    return [cc(), "-O2", "-Wall", "-s", *(["-static-pie"] if static else ["-fPIE", "-pie"]), *HARDENING,
            f"-DPYTHON_VERSION={c_string(version)}", f"-DBUILD_PYTHON={c_string(python)}",
            *defines, "-o", output, source]
