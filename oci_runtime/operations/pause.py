"""`oci-runtime pause <id>`: freeze every process of a running container."""
from oci_runtime.lifecycle.pause import pause


def main(g, opts, args):
    pause(g["root"], args[0])
    return 0
