"""cffi builder for ``oci_runtime._shim`` (API mode, compiled at install time).

setup.py names ``cffi_build/build_shim.py:ffibuilder`` in ``cffi_modules``, so
``pip install .`` compiles shim.c into an extension module.  The declarations
live in shim.h so that the C and the cdef can never disagree.
"""
import pathlib

from cffi import FFI

HERE = pathlib.Path(__file__).resolve().parent

def declarations(name):
    """A header's declarations without its comments (cffi's cdef does not take them)."""
    return "\n".join(line for line in (HERE / name).read_text().splitlines()
                     if not line.lstrip().startswith(("/*", "*")))


ffibuilder = FFI()
ffibuilder.cdef(declarations("shim.h"))
# libseccomp compiles linux.seccomp profiles (linked from Debian's libseccomp-dev).
ffibuilder.cdef(declarations("seccomp_api.h"))
ffibuilder.set_source(
    "oci_runtime._shim",
    '#include "shim.h"\n#include <seccomp.h>',
    sources=[str(HERE / "shim.c")],
    include_dirs=[str(HERE)],
    libraries=["seccomp"],
    # Hardened like the waiter and the launcher (setup.py), whatever the
    # interpreter's own build flags were: full RELRO, stack protector, fortify.
    extra_compile_args=["-O2", "-Wall", "-fstack-protector-strong", "-D_FORTIFY_SOURCE=2"],
    extra_link_args=["-Wl,-z,relro,-z,now"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
