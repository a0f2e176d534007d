"""Build glue that pyproject.toml cannot express on its own.

* ``cffi_modules`` compiles the syscall shim (cffi_build/shim.c) into
  ``oci_runtime._shim``.
* ``BuildExtWithInit`` also compiles cffi_build/init.c into the static
  ``oci_runtime/libexec/oci-runtime-init`` program: the small process that
  waits inside a created container instead of a Python interpreter.  It is
  static because it is exec'd after pivot_root, where the host's dynamic
  loader is not visible.
* ``BuildLauncher`` compiles cffi_build/launcher.c into the ``oci-runtime``
  command itself (installed into the prefix's bin/): a tiny program that
  execs ``python3 -I -S`` with the package on sys.path, instead of pip's
  console-script wrapper (which pays for site.py and ``import re`` on every
  call).  See docs/performance.md.
"""
import os
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py
# setuptools ships distutils' build_scripts (setuptools.command has none).
from distutils.command.build_scripts import build_scripts  # noqa: E402  (after setuptools)

INIT_SOURCE = os.path.join("cffi_build", "init.c")
INIT_NAME = os.path.join("oci_runtime", "libexec", "oci-runtime-init")
LAUNCHER_SOURCE = os.path.join("cffi_build", "launcher.c")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "cffi_build"))
from cflags import HARDENING, cc, launcher_command  # noqa: E402  (cffi_build/ is not a package)


def compile_init(output):
    os.makedirs(os.path.dirname(output), exist_ok=True)
    common = ["-O2", "-Wall", "-s", *HARDENING, "-o", output, INIT_SOURCE]
    try:
        subprocess.check_call([cc(), "-static-pie", *common])
    except subprocess.CalledProcessError:
        print("warning: the compiler cannot link -static-pie; the waiter is a static non-PIE binary "
              "(no ASLR for its code)", file=sys.stderr)
        subprocess.check_call([cc(), "-static", *common])


def compile_launcher(output):
    os.makedirs(os.path.dirname(output), exist_ok=True)
    try:
        subprocess.check_call(launcher_command(output, LAUNCHER_SOURCE))
    except subprocess.CalledProcessError:
        print("warning: the compiler cannot link -static-pie (no static libc?); the launcher is "
              "dynamically linked (~0.35 ms slower per call)", file=sys.stderr)
        subprocess.check_call(launcher_command(output, LAUNCHER_SOURCE, static=False))


class BuildLauncher(build_scripts):
    """The only "script" is the C launcher: compile it instead of copying it."""

    def run(self):
        target = os.path.join(self.build_dir, "oci-runtime")
        compile_launcher(target)
        os.chmod(target, 0o755)


class BuildExtWithInit(build_ext):
    def run(self):
        super().run()
        targets = [os.path.join(self.build_lib, INIT_NAME)]
        if self.inplace:
            targets = [INIT_NAME]
        for target in targets:
            compile_init(target)


class BuildPyWithSchemas(build_py):
    """Ship specs/*.schema.json inside the package for `oci-runtime validate`."""

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "oci_runtime", "schemas")
        os.makedirs(target, exist_ok=True)
        for name in os.listdir("specs"):
            if name.endswith(".schema.json"):
                shutil.copy(os.path.join("specs", name), target)


setup(
    cffi_modules=["cffi_build/build_shim.py:ffibuilder", "cffi_build/build_shim.py:libseccomp_ffibuilder"],
    # Listed so that setuptools runs build_scripts/install_scripts; BuildLauncher
    # compiles it into bin/oci-runtime.
    scripts=[LAUNCHER_SOURCE],
    cmdclass={"build_ext": BuildExtWithInit, "build_py": BuildPyWithSchemas,
              "build_scripts": BuildLauncher},
)
