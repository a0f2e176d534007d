"""Messages between `create` and the processes it forks, over one socketpair.

Each message is one JSON object on one line with a "type":
  {"type": "pid", "pid": N}       the intermediate child reports the init's pid
  {"type": "ready", "msg": ""}    the waiting init (C) has finished set-up
  {"type": "error", "msg": "..."} a child failed; msg is the real cause
The C waiter (cffi_build/init.c) writes the same format, so a failure at any
stage reaches the user as the child's own error, never as "EOF".
"""
import json
import os

from oci_runtime.errors import OCIError


def describe(exc):
    """A one-line, user-facing description of an exception from a child."""
    if isinstance(exc, OCIError):
        return str(exc)
    if isinstance(exc, OSError):
        text = exc.strerror or str(exc)
        return f"{text}: {exc.filename}" if exc.filename else text
    return f"{type(exc).__name__}: {exc}"


def send(fd, kind, **fields):
    fields["type"] = kind
    data = (json.dumps(fields) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


class Reader:
    """Reads JSON-line messages from the parent's end of the socketpair."""

    def __init__(self, fd):
        self.fd = fd
        self.buffer = b""

    def next(self):
        """The next message as a dict, or None at EOF."""
        while b"\n" not in self.buffer:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            return {"type": "error", "msg": f"garbled message from the container init: {line[:200]!r}"}
