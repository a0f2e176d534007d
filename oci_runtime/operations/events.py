"""`oci-runtime events [--stats] [--interval D] <id>`: runc-format JSON lines.

--stats prints one {"type": "stats", ...} line.  Without it, a stats line every
--interval and an {"type": "oom"} line whenever the kernel OOM-kills a task in
the container, until the container stops.  --interval is a Go duration, as
runc's (5s, 1m30s, 500ms, 1.5h; see units.parse_duration), greater than 0.
"""
import json
import sys
import time

from oci_runtime import units
from oci_runtime.cgroups import stats
from oci_runtime.errors import ContainerNotRunning, OCIError
from oci_runtime.state import open_container


def parse_interval(text):
    """--interval in seconds (a float), read as runc reads it: a Go duration (a
    urfave/cli DurationFlag, time.ParseDuration), so a bare number other than "0"
    is an error.  runc then refuses an interval <= 0 with "duration interval must
    be greater than 0" (Go's ticker would panic on it).  runc makes that check
    after looking the container up; here it comes first, with the format."""
    try:
        nanoseconds = units.parse_duration(text)
    except units.FormatError as exc:
        raise OCIError(_interval_error(text, exc)) from None
    if nanoseconds <= 0:
        raise OCIError(_interval_error(text, "duration interval must be greater than 0"))
    return nanoseconds / 1e9


def _interval_error(text, reason):
    return f"--interval {units.quote(text)}: {reason} (e.g. {units.DURATION_EXAMPLES})"


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
