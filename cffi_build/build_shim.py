"""cffi builder for ``oci_runtime._shim`` (API mode, compiled at install time).

setup.py names ``cffi_build/build_shim.py:ffibuilder`` in ``cffi_modules``, so
``pip install .`` compiles shim.c into an extension module.  The declarations
live in shim.h so that the C and the cdef can never disagree.
"""
import pathlib

from cffi import FFI

HERE = pathlib.Path(__file__).resolve().parent

ffibuilder = FFI()
ffibuilder.cdef(
    "\n".join(
        line for line in (HERE / "shim.h").read_text().splitlines()
        if not line.lstrip().startswith(("/*", "*"))
    )
)
ffibuilder.set_source(
    "oci_runtime._shim",
    '#include "shim.h"',
    sources=[str(HERE / "shim.c")],
    include_dirs=[str(HERE)],
    extra_compile_args=["-O2", "-Wall"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
