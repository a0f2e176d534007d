"""runc-compatible logging: --log FILE, --log-format text|json, --debug.

Engines read these lines: containerd's shim and podman parse the JSON form
{"level": ..., "msg": ..., "time": ...}, one object per line.

The log is a file descriptor, opened once, on the host side, when the command
line is read (as runc does, the file exists afterwards even if nothing was
logged).  It is never reopened by path: a process that has entered the
container's mount namespace would open the *container's* file of that name.
A forked child of create or exec does not write the log itself at all: after
``relay_to(sync_fd)`` its lines travel to the parent over the sync socket
(``{"type": "log", ...}``), and the parent writes them (``replay``).  So a
warning from container set-up reaches --log or the runtime's stderr, never
the container's stdio, which the child's fds 0-2 may already be.
"""
from oci_runtime import fastjson as json  # json without its re/enum imports
import os
import time

from oci_runtime.errors import OCIError, one_line

_settings = {"fd": -1, "format": "text", "debug": False, "relay": -1}


def configure(path, fmt, debug):
    """Open --log (append, created 0644) once; a path that cannot be opened is an
    error, as under runc."""
    fd = -1
    if path:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise OCIError(f"--log {path}: cannot open the log file: {exc.strerror}") from None
    _settings.update(fd=fd, format=fmt, debug=debug)


def relay_to(sync_fd):
    """In a forked child: send every line to the parent over ``sync_fd`` from now on."""
    _settings["relay"] = sync_fd


def _timestamp():
    now = time.time()
    micro = int((now % 1) * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{micro:06d}Z"


def _line(level, msg):
    if _settings["format"] == "json":
        from oci_runtime import fastjson  # Go's bytes for --log-format json

        # logrus's JSON: compact, Go's escapes, keys sorted
        return fastjson.go_dumps({"level": level, "msg": msg, "time": _timestamp()}) + "\n"
    return f'time="{_timestamp()}" level={level} msg={json.dumps(msg)}\n'


def _write_all(fd, data):
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass  # the log is best effort: never a reason for a command to fail


def write(level, msg):
    """One line to the --log file (if any), or to the parent from a child; never raises."""
    if level == "debug" and not _settings["debug"]:
        return
    if _settings["relay"] >= 0:
        _write_all(_settings["relay"], (json.dumps({"type": "log", "level": level, "msg": msg}) + "\n").encode())
    elif _settings["fd"] >= 0:
        _write_all(_settings["fd"], _line(level, msg).encode())


def replay(message):
    """Write a line a child relayed (a sync message of type "log")."""
    level, msg = str(message.get("level") or "info"), str(message.get("msg") or "")
    if level == "warning":
        warn(msg)
    else:
        write(level, msg)


def debug(msg):
    write("debug", msg)


def debugging():
    """Whether debug lines are written (--debug): for a caller whose message costs work."""
    return _settings["debug"]


def warn(msg):
    write("warning", msg)
    if _settings["fd"] < 0 and _settings["relay"] < 0:
        _write_all(2, f"warning: {one_line(msg)}\n".encode())


def error(msg):
    write("error", msg)
