"""`oci-runtime list`: the containers under --root, as a table, JSON or ids.

As runc's: the owner is the name of the user owning the container's state
directory (``#UID`` when it has none), JSON is one compact line in Go's encoding
(``null`` for no containers), the table is Go's tabwriter layout (columns at
least 12 wide, 3 spaces of padding) with times in RFC3339Nano.
"""
import os
import sys

from oci_runtime import fastjson
from oci_runtime.state import container_dir

from oci_runtime.errors import OCIError
from oci_runtime.lifecycle.query import list_states


def main(g, opts, args):
    if opts["format"] not in ("table", "json"):
        raise OCIError(f"invalid format option: {opts['format']}")
    states = list_states(g["root"])
    if opts["quiet"]:
        sys.stdout.write("".join(f"{s['id']}\n" for s in states))
        return 0
    for s in states:
        s["owner"] = _owner(container_dir(g["root"], s["id"]))
    if opts["format"] == "json":
        sys.stdout.write(fastjson.go_dumps(states or None) + "\n")
        return 0
    rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
    rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"]) for s in states]
    # tabwriter: every column but the last padded to max(widest + 3, 12)
    widths = [max(max(len(r[i]) for r in rows) + 3, 12) for i in range(len(rows[0]) - 1)]
    for row in rows:
        sys.stdout.write("".join(c.ljust(w) for c, w in zip(row, widths)) + row[-1] + "\n")
    return 0


def _owner(directory):
    """The name of the user owning ``directory`` (runc: user.LookupUid, else "#UID")."""
    try:
        uid = os.stat(directory).st_uid
    except OSError:
        return ""
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"#{uid}"
