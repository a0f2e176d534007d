"""Build glue that pyproject.toml cannot express on its own.

* ``cffi_modules`` compiles the syscall shim (cffi_build/shim.c) into
  ``oci_runtime._shim``.
* ``BuildExtWithInit`` also compiles cffi_build/init.c into the static
  ``oci_runtime/libexec/oci-runtime-init`` program: the small process that
  waits inside a created container instead of a Python interpreter.  It is
  static because it is exec'd after pivot_root, where the host's dynamic
  loader is not visible.
"""
import os
import shutil
import subprocess
import sysconfig

from setuptools import setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

INIT_SOURCE = os.path.join("cffi_build", "init.c")
INIT_NAME = os.path.join("oci_runtime", "libexec", "oci-runtime-init")


def compile_init(output):
    os.makedirs(os.path.dirname(output), exist_ok=True)
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not shutil.which(cc):
        cc = "cc"
    subprocess.check_call([cc, "-static", "-O2", "-Wall", "-s", "-o", output, INIT_SOURCE])


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
    cffi_modules=["cffi_build/build_shim.py:ffibuilder"],
    cmdclass={"build_ext": BuildExtWithInit, "build_py": BuildPyWithSchemas},
)
