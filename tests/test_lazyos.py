"""The command line's stand-in ``os`` (oci_runtime/lazyos.py).

The commands engines make for every container (`create`, `start`, `state`,
`kill`, `delete`, `exec`, `run`, `list`) must not run os.py (about a fifth of
the interpreter's own start-up); when os.py is needed after all, every value
must be the real os's.
The commands run through launch.main as the launcher runs it (``-I -S``, the
installed package first on sys.path), on real containers, and report from
inside the runtime's own process just before it exits.
"""
import os
import subprocess
import sys
import sysconfig
import tempfile

import pytest

from conftest import wait_for

SITE = sysconfig.get_paths()["purelib"]  # the installed package, as the launcher finds it

# Runs one command through launch.main; at its exit prints whether os.py ran.
PROBE = """
import posix, sys
sys.path.insert(0, sys.argv.pop(1))
from oci_runtime import launch
exit_now = posix._exit
def report(status):
    real = type(sys.modules["os"]).__name__ == "module"
    sys.stderr.write(f"os.py ran={real and '_collections_abc' in sys.modules}\\n")
    sys.stderr.flush()
    exit_now(status)
posix._exit = report
launch.main()
"""


def _command(rt, *args):
    with tempfile.TemporaryFile() as err:  # a file: a created container keeps create's stdio open
        done = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, SITE, "--root", rt.root, *args],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, timeout=60)
        err.seek(0)
        done.stderr = err.read().decode(errors="replace")
    line = [text for text in done.stderr.splitlines() if text.startswith("os.py ran=")]
    assert line, done.stderr
    return done, line[-1].split("=", 1)[1] == "True"


def test_the_lifecycle_commands_never_run_os_py(rt):
    bundle = rt.bundle(["sleep", "100"])
    cid = rt.new_id()
    os.makedirs(rt.root, 0o700)  # an engine's --root exists after its first container (os.makedirs makes it)
    for args in (("create", "--bundle", str(bundle), cid), ("state", cid), ("kill", cid, "0"), ("list",),
                 ("delete", "--force", "no-such-container"), ("start", cid), ("exec", cid, "true"),
                 ("run", "--bundle", str(rt.bundle(["true"])), rt.new_id()), ("kill", cid, "KILL")):
        done, ran = _command(rt, *args)
        assert done.returncode == 0 or args[0] == "delete", done.stderr
        assert not ran, f"{' '.join(args)} ran os.py"
    wait_for(lambda: rt.state(cid)["status"] == "stopped")
    done, ran = _command(rt, "delete", cid)
    assert done.returncode == 0 and not ran, done.stderr
    # The control: a command that needs the real os (ps runs ps(1) through subprocess) reports it.
    other = rt.create(bundle)
    done, ran = _command(rt, "ps", other)
    assert done.returncode == 0 and ran, done.stderr
    rt.cmd("delete", "--force", other, check=True)


def _fresh(code):
    done = subprocess.run([sys.executable, "-I", "-S", "-c",
                           "import sys\nsys.path.insert(0, sys.argv.pop(1))\n"
                           "from oci_runtime import lazyos\nlazyos.install()\n" + code, SITE],
                          capture_output=True, text=True, timeout=30, env={**os.environ, "LAZYOS_TEST": "v\u00e9"})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_stand_in_gives_the_real_os_values():
    out = _fresh(
        "import os, posix, posixpath\n"
        "import os.path\n"
        "from os import path, sep, O_RDONLY\n"
        "checks = [os.open is posix.open, os.path is posixpath, path is posixpath, sep == '/',\n"
        "          O_RDONLY == posix.O_RDONLY, os.devnull == '/dev/null', 'collections_abc' not in str(sys.modules)]\n"
        "print(all(checks), checks)\n"
        "stand_in = os\n"
        "env = os.environ\n"  # not in posix as os has it: os.py runs now
        "real = sys.modules['os']\n"
        "print(real is not stand_in, env is real.environ, stand_in.makedirs is real.makedirs,\n"
        "      env['LAZYOS_TEST'] == 'v\\u00e9', real.path is posixpath)\n")
    assert out[0] == "True", out
    assert out[-5:] == ["True"] * 5, out


def test_environment_reads_what_os_environ_would(monkeypatch):
    out = _fresh(
        "value = lazyos.Environment.get('LAZYOS_TEST'); missing = lazyos.Environment.get('NOPE_X', 'd')\n"
        "print(value == 'v\\u00e9', missing == 'd', 'os' in sys.modules and '_collections_abc' not in sys.modules)\n"
        "import os\n"
        "os.environ['LAZYOS_TEST'] = 'changed'\n"  # the real os from now on, as the API would see it
        "print(lazyos.Environment.get('LAZYOS_TEST') == 'changed')\n")
    assert out == ["True"] * 4, out


@pytest.mark.parametrize("frozen", ["on", "off"])
def test_a_sealed_child_imports_no_file_for_os(frozen):
    """importguard.seal() (every child, before it enters a container's namespaces):
    where os.py is frozen into the interpreter (Debian's, python.org's builds) the
    stand-in stays, and an os.py name needed later comes from the binary, which
    the seal allows; where it is a file (-X frozen_modules=off), the real os is
    loaded at the seal, while files may still be read."""
    code = ("import os\n"
            "from oci_runtime import importguard\n"
            "importguard.seal()\n"
            "print(type(sys.modules['os']).__name__)\n"
            "print(os.environ['LAZYOS_TEST'] == 'v\\u00e9', os.fsencode('x') == b'x')\n")
    done = subprocess.run([sys.executable, "-I", "-S", "-X", f"frozen_modules={frozen}", "-c",
                           "import sys\nsys.path.insert(0, sys.argv.pop(1))\n"
                           "from oci_runtime import lazyos\nlazyos.install()\n" + code, SITE],
                          capture_output=True, text=True, timeout=30, env={**os.environ, "LAZYOS_TEST": "v\u00e9"})
    assert done.returncode == 0, done.stderr
    kind, *values = done.stdout.split()
    assert kind == ("_LazyOs" if frozen == "on" else "module"), done.stdout
    assert values == ["True", "True"], done.stdout
