"""`oci-runtime start <id>`: let a created container's init exec the user process."""
from oci_runtime.lifecycle.start import start


def main(g, opts, args):
    start(g["root"], args[0])
    return 0
