"""`oci-runtime resume <id>`: thaw a paused container."""
from oci_runtime.lifecycle.pause import resume


def main(g, opts, args):
    resume(g["root"], args[0])
    return 0
