"""`oci-runtime list`: the containers under --root, as a table, JSON or ids."""
from oci_runtime import fastjson as json  # json without its re/enum imports
import sys

from oci_runtime.errors import OCIError
from oci_runtime.lifecycle.query import list_states


def main(g, opts, args):
    if opts["format"] not in ("table", "json"):
        raise OCIError(f"invalid format option: {opts['format']}")
    states = list_states(g["root"])
    if opts["quiet"]:
        sys.stdout.write("".join(f"{s['id']}\n" for s in states))
    elif opts["format"] == "json":
        sys.stdout.write(json.dumps(states or None) + "\n")
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"] or "root")
                 for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            sys.stdout.write("   ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
    return 0
