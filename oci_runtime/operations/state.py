"""`oci-runtime state <id>`: runc's state JSON, with the status read from the kernel.

Printed as runc prints it: Go's MarshalIndent with two spaces and no newline at
the end (fastjson.py says why the bytes matter).
"""
import sys

from oci_runtime import fastjson
from oci_runtime.lifecycle.query import state


def main(g, opts, args):
    sys.stdout.write(fastjson.go_dumps(state(g["root"], args[0]), indent=2))
    return 0
