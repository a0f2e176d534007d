"""`oci-runtime list`: the containers under --root, as a table, JSON or ids."""
from oci_runtime import fastjson as json  # json without its re/enum imports
import sys

from oci_runtime import log
from oci_runtime.errors import NotExist, OCIError
from oci_runtime.state import CorruptState, State, container_dir, list_ids


def _states(root):
    for container_id in list_ids(root):
        try:
            yield State.load(container_dir(root, container_id)).public()
        except NotExist:
            continue  # being created or deleted right now
        except CorruptState as exc:  # the others are still listed
            log.warn(str(exc))


def main(g, opts, args):
    if opts["format"] not in ("table", "json"):
        raise OCIError(f"invalid format option: {opts['format']}")
    states = list(_states(g["root"]))
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
