"""`oci-runtime events [--stats] [--interval D] <id>`: runc-format JSON lines.

--stats prints one {"type": "stats", ...} line.  Without it, a stats line every
--interval and an {"type": "oom"} line whenever the kernel OOM-kills a task in
the container, until the container stops.  --interval is a Go duration, as
runc's (5s, 1m30s, 500ms, 1.5h; see units.parse_duration), greater than 0.
"""
import sys

from oci_runtime import fastjson, units
from oci_runtime.errors import OCIError
from oci_runtime.lifecycle import events


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
    sys.stdout.write(fastjson.go_dumps(line) + "\n")  # runc's bytes: compact, Go's escapes
    sys.stdout.flush()


def main(g, opts, args):
    container_id = args[0]
    interval = parse_interval(opts["interval"])
    if opts["stats"]:
        _emit("stats", container_id, events.stats(g["root"], container_id))
        return 0
    for kind, data in events.watch(g["root"], container_id, interval):
        _emit(kind, container_id, data)
    return 0
