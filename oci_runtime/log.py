"""runc-compatible logging: --log FILE, --log-format text|json, --debug.

Engines read these lines: containerd's shim and podman parse the JSON form
{"level": ..., "msg": ..., "time": ...}, one object per line.
"""
from oci_runtime import fastjson as json  # json without its re/enum imports
import os
import time

_settings = {"path": None, "format": "text", "debug": False}


def configure(path, fmt, debug):
    _settings.update(path=path, format=fmt, debug=debug)


def _timestamp():
    now = time.time()
    micro = int((now % 1) * 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{micro:06d}Z"


def _line(level, msg):
    if _settings["format"] == "json":
        return json.dumps({"level": level, "msg": msg, "time": _timestamp()}) + "\n"
    return f'time="{_timestamp()}" level={level} msg={json.dumps(msg)}\n'


def write(level, msg):
    """Append one line to the --log file (if any); never raises."""
    if level == "debug" and not _settings["debug"]:
        return
    path = _settings["path"]
    if not path:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, _line(level, msg).encode())
        finally:
            os.close(fd)
    except OSError:
        pass


def debug(msg):
    write("debug", msg)


def warn(msg):
    write("warning", msg)
    if not _settings["path"]:
        os.write(2, f"warning: {msg}\n".encode())


def error(msg):
    write("error", msg)
