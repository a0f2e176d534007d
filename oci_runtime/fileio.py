"""Whole small files in four syscalls: state files, /proc and cgroup files.

Why: ``open()`` builds an io object pair and adds five syscalls to each file
(fstat, isatty, two lseeks, a last read).  The runtime reads a few dozen small
files per command (state.json, /proc/PID/stat, cgroup.procs, freezer.state),
`list` two per container, and the init joins one cgroup.procs per hierarchy.
Errors are the OSErrors ``open()`` raises, with the path as their filename.
"""
import os

_CHUNK = 65536


def read_bytes(path):
    """The whole file: open, read until end of file, close."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return read_to_end(fd)
    finally:
        os.close(fd)


def write_all(fd, data):
    """All of ``data`` to ``fd``: a full disk or a pipe can cut a write short."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def read_to_end(fd):
    """What is left to read on ``fd`` (a file from its offset, a pipe until its writers close)."""
    chunks = []
    while chunk := os.read(fd, _CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


def read_text(path):
    return read_bytes(path).decode()


def write_text(path, text):
    """One write of ``text`` to an existing kernel file (cgroup.procs, a limit):
    what the kernel refuses is raised from the write itself."""
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
