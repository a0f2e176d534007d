"""The runtime's own C code is built hardened: position-independent (ASLR for its
code) with full RELRO.  The waiter (oci-runtime-init) runs as the container's pid 1
until it execs the user's program; the launcher is the command every engine runs as
root; the shim is loaded into every runtime process, the libseccomp binding into those
that compile a profile."""
import os
import subprocess
import sys

import pytest

import oci_runtime

WAITER = os.path.join(os.path.dirname(oci_runtime.__file__), "libexec", "oci-runtime-init")
LAUNCHER = os.path.join(os.path.dirname(sys.executable), "oci-runtime")
PACKAGE = os.path.dirname(oci_runtime.__file__)
SHIM = os.path.join(PACKAGE, [name for name in os.listdir(PACKAGE) if name.startswith("_shim.")][0])
LIBSECCOMP = os.path.join(PACKAGE, [name for name in os.listdir(PACKAGE) if name.startswith("_libseccomp.")][0])

ET_DYN = 3  # a position-independent executable; ET_EXEC (2) is loaded at a fixed address


def elf_type(path):
    with open(path, "rb") as f:
        header = f.read(18)
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[16:18], "little")


def dynamic_section(path):
    return subprocess.run(["readelf", "-d", "-W", path], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("path", [WAITER, LAUNCHER, SHIM, LIBSECCOMP],
                         ids=["waiter", "launcher", "shim", "libseccomp binding"])
def test_position_independent_with_full_relro(path):
    assert elf_type(path) == ET_DYN, f"{path} is not position-independent"
    dynamic = dynamic_section(path)
    assert "BIND_NOW" in dynamic, dynamic
    headers = subprocess.run(["readelf", "-l", "-W", path], capture_output=True, text=True, check=True).stdout
    assert "GNU_RELRO" in headers


def test_waiter_is_static():
    """It is exec'd after pivot_root, where the host's libraries are out of reach."""
    headers = subprocess.run(["readelf", "-l", "-W", WAITER], capture_output=True, text=True, check=True).stdout
    assert "INTERP" not in headers
