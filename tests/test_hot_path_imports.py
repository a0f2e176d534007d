"""The hot path imports only what it needs (issue 7): each command's modules, loaded the
way the launcher loads them (python3 -I -S), pull in none of the heavy modules.

jsonschema and pyroute2 cost tens of milliseconds; json, re, enum, socket and signal
build regexes or IntEnums at import (the project uses fastjson, sockets and signals
instead); the image package belongs to `bundle` alone.
"""
import os
import subprocess
import sys

import pytest

import oci_runtime

HEAVY = ("jsonschema", "pyroute2", "json", "re", "enum", "dataclasses", "typing", "socket", "signal",
         "oci_runtime.image")
HOT = ("create", "start", "state", "kill", "delete", "exec_", "run")


@pytest.mark.parametrize("operation", HOT)
def test_a_hot_command_imports_nothing_heavy(operation):
    site = os.path.dirname(os.path.dirname(oci_runtime.__file__))
    probe = (f"import sys; sys.path.insert(0, {site!r}); "
             f"import oci_runtime.launch, oci_runtime.cli, oci_runtime.operations.{operation}; "
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True,
                            cwd="/", check=True)
    assert result.stdout.split() == [], f"{operation} imports {result.stdout.strip()}"
