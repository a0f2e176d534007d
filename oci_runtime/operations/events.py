"""`oci-runtime events [--stats] [--interval D] <id>`: runc-format JSON lines.

--stats prints one {"type": "stats", ...} line.  Without it, a stats line every
--interval and an {"type": "oom"} line whenever the kernel OOM-kills a task in
the container, until the container stops.
"""
import json
import sys
import time

from oci_runtime.cgroups import stats
from oci_runtime.errors import ContainerNotRunning, OCIError
from oci_runtime.state import open_container


def parse_interval(text):
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for suffix in ("ms", "s", "m", "h"):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * units[suffix]
    if text.replace(".", "", 1).isdigit():
        return float(text)
    raise OCIError(f"invalid interval {text!r} (e.g. 5s, 500ms)")


def _emit(kind, container_id, data=None):
    line = {"type": kind, "id": container_id}
    if data is not None:
        line["data"] = data
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def main(g, opts, args):
    container_id = args[0]
    interval = parse_interval(opts["interval"])
    st, lock = open_container(g["root"], container_id)
    lock.release()  # a long-running reader must not block other commands
    if st.status() == "stopped":
        raise ContainerNotRunning()
    paths = st.private.get("cgroups") or {}
    if opts["stats"]:
        _emit("stats", container_id, stats.collect(paths))
        return 0
    ooms = stats.oom_kills(paths)
    next_stats = 0.0
    while st.status() != "stopped":
        now = time.monotonic()
        if now >= next_stats:
            _emit("stats", container_id, stats.collect(paths))
            next_stats = now + interval
        current = stats.oom_kills(paths)
        if current > ooms:
            _emit("oom", container_id)
            ooms = current
        time.sleep(min(0.1, interval))
    return 0
