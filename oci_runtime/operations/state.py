"""`oci-runtime state <id>`: runc's state JSON, with the status read from the kernel."""
from oci_runtime import fastjson as json  # json without its re/enum imports
import sys

from oci_runtime.lifecycle.query import state


def main(g, opts, args):
    sys.stdout.write(json.dumps(state(g["root"], args[0]), indent=2) + "\n")
    return 0
