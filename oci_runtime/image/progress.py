"""A one-line progress display on stderr when it is a terminal.

Why only on a terminal: engines and scripts read stderr for errors; a stream of
carriage returns there would be noise.  Updates are throttled to a few per second.
"""
import sys
import time

INTERVAL = 0.25


def _mib(n):
    return f"{n / (1 << 20):.1f} MiB"


class Progress:
    """Counts bytes of the current layer; ``stream`` defaults to sys.stderr."""

    def __init__(self, layer_count, stream=None, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.layer_count = layer_count
        self.clock = clock
        self.index = 0
        self.done = 0
        self.total = 0
        self.name = ""
        self._last = 0.0

    def start_layer(self, index, name, total):
        self.index, self.name, self.total, self.done = index, name, total or 0, 0
        self._last = 0.0
        self._show(force=True)

    def advance(self, n):
        self.done += n
        self._show()

    def end(self):
        if self.enabled:
            self._show(force=True)  # the last, throttled update would otherwise be lost
            self.stream.write("\n")
            self.stream.flush()

    def line(self):
        size = f"{_mib(self.done)} / {_mib(self.total)}" if self.total else _mib(self.done)
        return f"layer {self.index}/{self.layer_count} {self.name[:19]}: {size}"

    def _show(self, force=False):
        if not self.enabled:
            return
        now = self.clock()
        if force or now - self._last >= INTERVAL:
            self._last = now
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()
