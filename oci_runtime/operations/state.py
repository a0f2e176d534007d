"""`oci-runtime state`: runc's state JSON, with the status read from the kernel."""
from oci_runtime import fastjson as json  # json without its re/enum imports
import sys

from oci_runtime.state import open_container


def main(g, opts, args):
    st, lock = open_container(g["root"], args[0])
    with lock:
        doc = st.public()
    sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    return 0
