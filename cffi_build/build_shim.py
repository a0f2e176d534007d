"""cffi builders for ``oci_runtime._shim`` and ``oci_runtime._libseccomp`` (API
mode, compiled at install time).

setup.py names ``cffi_build/build_shim.py:ffibuilder`` and ``:libseccomp_ffibuilder``
in ``cffi_modules``, so ``pip install .`` compiles shim.c into one extension
module and libseccomp's binding into another.  The declarations
live in shim.h so that the C and the cdef can never disagree.
"""
import pathlib

from cffi import FFI

HERE = pathlib.Path(__file__).resolve().parent

def declarations(name):
    """A header's declarations without its comments (cffi's cdef does not take them)."""
    return "\n".join(line for line in (HERE / name).read_text().splitlines()
                     if not line.lstrip().startswith(("/*", "*")))


# Hardened like the waiter and the launcher (cffi_build/cflags.py), whatever the
# interpreter's own build flags were: full RELRO, stack protector, fortify.
HARDENED = {"extra_compile_args": ["-O2", "-Wall", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
            "extra_link_args": ["-Wl,-z,relro,-z,now"]}

ffibuilder = FFI()
ffibuilder.cdef(declarations("shim.h"))
ffibuilder.set_source(
    "oci_runtime._shim",
    '#include "shim.h"',
    sources=[str(HERE / "shim.c")],
    include_dirs=[str(HERE)],
    **HARDENED,
)

# libseccomp compiles linux.seccomp profiles (linked from Debian's libseccomp-dev).
# A module of its own, so that only a config with a seccomp profile (and
# `features`) loads libseccomp: every create, run and exec loads _shim.
libseccomp_ffibuilder = FFI()
libseccomp_ffibuilder.cdef(declarations("seccomp_api.h"))
libseccomp_ffibuilder.set_source(
    "oci_runtime._libseccomp",
    "#include <seccomp.h>",
    libraries=["seccomp"],
    **HARDENED,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
    libseccomp_ffibuilder.compile(verbose=True)
