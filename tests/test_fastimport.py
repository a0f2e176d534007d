"""The command line makes its own modules without the import system (oci_runtime/fastimport.py).

Each check runs a fresh interpreter, as the launcher does (``-I -S``, the
package's directory first on ``sys.path``), on a copy of the installed package
when it has to change a file.  What is asserted is what a module looks like
afterwards and which of the two ways made it: the interpreter's ``__import__``
is wrapped to record every name it is asked for (``from a import b``: a, a.b).
"""
import os
import shutil
import subprocess
import sys
import sysconfig
import time

import pytest

from conftest import RUNTIME

SITE = sysconfig.get_paths()["purelib"]  # the installed package, with its compiled .pyc files
RUNTIME_PYTHON = os.path.join(os.path.dirname(RUNTIME), "python3")

PRELUDE = """
import builtins, sys
sys.path.insert(0, sys.argv[1])
asked = []
real_import = builtins.__import__
def recording(name, globals=None, locals=None, fromlist=(), level=0):
    asked.append(name)
    asked.extend(name + "." + item for item in fromlist or ())
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = recording
from oci_runtime import fastimport
fastimport._original_import = recording
fastimport.install()
del asked[:]
"""


def _python(code, site=SITE, *args):
    done = subprocess.run([RUNTIME_PYTHON, "-I", "-S", "-c", PRELUDE + code, site, *args],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _copy_of_package(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(os.path.join(SITE, "oci_runtime"), site / "oci_runtime", symlinks=True)
    return site


def test_the_run_path_is_made_without_the_import_system():
    out = _python(
        "import oci_runtime.operations.run\n"
        "ours = sorted(n for n in sys.modules if n.startswith('oci_runtime'))\n"
        "asked_ours = sorted(set(n for n in asked if n.startswith('oci_runtime')))\n"
        "print(len(ours)); print(' '.join(asked_ours) or '-'); print('_shim' in ' '.join(ours))\n"
        "print(sorted(set(asked) & {'_json', '_cffi_backend'}))\n")
    count, asked_ours, shim, c_modules = out.split("\n")[:4]
    assert int(count) > 25
    # every module of the package, the cffi shim included, and the C modules the hot
    # path imports (fastimport.EXTENSIONS) are made without the finders
    assert asked_ours == "-" and shim == "True", asked_ours
    assert c_modules == "[]"


EXTENSION_FACTS = (
    "import sys\n"
    "for name in ('oci_runtime._shim', '_cffi_backend', '_json'):\n"
    "    m = sys.modules[name]\n"
    "    spec = m.__spec__\n"
    "    print(name, type(spec.loader).__name__, spec.origin == m.__file__, m.__loader__ is spec.loader,\n"
    "          spec.has_location, spec.cached, spec.parent, m.__package__, m.__file__)\n"
    "print(sys.modules['oci_runtime']._shim is sys.modules['oci_runtime._shim'])\n")


def test_an_extension_module_looks_as_the_import_system_would_make_it():
    made = _python("import _json\nfrom oci_runtime import shim\n" + EXTENSION_FACTS)
    imported = subprocess.run(
        [RUNTIME_PYTHON, "-I", "-S", "-c", "import sys\nsys.path.insert(0, sys.argv[1])\nimport _json\n"
         "from oci_runtime import shim\n" + EXTENSION_FACTS, SITE],
        capture_output=True, text=True, timeout=60, check=True).stdout
    assert made == imported
    assert "ExtensionFileLoader True True True None" in made and made.endswith("True\n")


def test_a_module_of_that_name_earlier_on_the_path_is_left_to_the_import_system(tmp_path):
    """The finder takes the first sys.path entry that has the name, a .py as well as a
    package: a _json.py before lib-dynload is what the import system loads."""
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "_json.py").write_text("SHADOW = True\n")
    out = _python("sys.path.insert(0, sys.argv[2])\nimport _json\n"
                  "print(getattr(_json, 'SHADOW', False), '_json' in asked)\n", SITE, str(earlier))
    assert out.split() == ["True", "True"]


def test_a_made_module_looks_as_the_import_system_would_make_it():
    out = _python(
        "import importlib.util\n"
        "from oci_runtime.cgroups import parents\n"
        "from oci_runtime import cgroups, lifecycle\n"
        "for m in (parents, cgroups):\n"
        "    spec = m.__spec__\n"
        "    print(m.__name__, m.__package__, m.__file__ == spec.origin, m.__loader__ is spec.loader,\n"
        "          type(spec.loader).__name__, m.__cached__ == importlib.util.cache_from_source(m.__file__),\n"
        "          getattr(m, '__path__', None) == spec.submodule_search_locations, spec.parent)\n"
        "print(cgroups.parents is parents, sys.modules['oci_runtime.cgroups.parents'] is parents)\n"
        "print(parents.__loader__.get_source('oci_runtime.cgroups.parents').startswith('\"\"\"'))\n")
    lines = out.splitlines()
    assert lines[0] == ("oci_runtime.cgroups.parents oci_runtime.cgroups True True SourceFileLoader True True "
                        "oci_runtime.cgroups")
    assert lines[1] == ("oci_runtime.cgroups oci_runtime.cgroups True True SourceFileLoader True True "
                        "oci_runtime.cgroups")
    assert lines[2:] == ["True True", "True"]


def test_a_stale_pyc_is_left_to_the_import_system(tmp_path):
    """An edited source (newer mtime, other size than its .pyc records) must never run
    the old code: the import system recompiles it."""
    site = _copy_of_package(tmp_path)
    source = site / "oci_runtime" / "signals.py"
    source.write_text(source.read_text() + "\nEDITED = True\n")
    later = time.time() + 5
    os.utime(source, (later, later))
    out = _python("from oci_runtime import signals\n"
                  "from oci_runtime import faults\n"
                  "print(getattr(signals, 'EDITED', False))\n"
                  "print('oci_runtime.signals' in asked, 'oci_runtime.faults' in asked)\n", str(site))
    assert out.splitlines() == ["True", "True False"]


def test_a_module_that_fails_is_not_left_half_made(tmp_path):
    site = _copy_of_package(tmp_path)
    source = site / "oci_runtime" / "faults.py"
    source.write_text("raise RuntimeError('broken on purpose')\n")
    import py_compile

    py_compile.compile(str(source), cfile=str(site / "oci_runtime" / "__pycache__" /
                                              f"faults.{sys.implementation.cache_tag}.pyc"))
    out = _python("try:\n"
                  "    from oci_runtime import faults\n"
                  "except RuntimeError as exc:\n"
                  "    print(exc)\n"
                  "print('oci_runtime.faults' in sys.modules, hasattr(sys.modules['oci_runtime'], 'faults'))\n"
                  "print('oci_runtime.faults' in asked)\n", str(site))
    assert out.splitlines() == ["broken on purpose", "False False", "False"]


def test_an_import_cycle_gets_the_module_being_made(tmp_path):
    site = _copy_of_package(tmp_path)
    pkg = site / "oci_runtime"
    (pkg / "cycle_a.py").write_text("from oci_runtime import cycle_b\nVALUE = 'a'\n")
    (pkg / "cycle_b.py").write_text("from oci_runtime import cycle_a\nSEEN = cycle_a\n")
    import compileall

    assert compileall.compile_file(str(pkg / "cycle_a.py"), quiet=1)
    assert compileall.compile_file(str(pkg / "cycle_b.py"), quiet=1)
    out = _python("from oci_runtime import cycle_a, cycle_b\n"
                  "print(cycle_b.SEEN is cycle_a, cycle_a.VALUE)\n"
                  "print(any(n.startswith('oci_runtime.cycle') for n in asked))\n", str(site))
    assert out.splitlines() == ["True a", "False"]


def test_seal_hands_imports_back_to_the_guard():
    """importguard.seal() (before a child enters a container's namespaces) must leave
    no way to read a module file: the front is removed and the guard refuses."""
    out = _python("from oci_runtime import importguard\n"
                  "importguard.seal()\n"
                  "import builtins\n"
                  "print(builtins.__import__ is fastimport._original_import)\n"
                  "try:\n"
                  "    import oci_runtime.seccomp\n"
                  "except ImportError as exc:\n"
                  "    print('refused' if 'refused' in str(exc) else exc)\n")
    assert out.splitlines() == ["True", "refused"]


@pytest.mark.parametrize("command", [["state", "no-such-container"], ["--version"]])
def test_the_command_line_installs_it_and_the_api_does_not(command, tmp_path):
    done = subprocess.run([RUNTIME_PYTHON, "-I", "-S", "-X", "importtime", "-c",
                           "import sys; sys.path.insert(0, sys.argv.pop(1)); "
                           "from oci_runtime.launch import main; sys.exit(main(sys.argv.pop(1)))",
                           SITE, "0", "--root", str(tmp_path), *command], capture_output=True, text=True)
    ours = [line for line in done.stderr.splitlines() if "import time:" in line and "oci_runtime" in line]
    assert len(ours) <= 4, ours  # the package, launch, fastimport; the rest made by fastimport
    api = subprocess.run([RUNTIME_PYTHON, "-I", "-c",
                          "import builtins; before = builtins.__import__; import oci_runtime.api; "
                          "print(builtins.__import__ is before)"], capture_output=True, text=True)
    assert api.stdout.strip() == "True", api.stderr
