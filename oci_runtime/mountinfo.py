"""/proc/self/mountinfo, parsed as proc(5) defines it.

Fields: id, parent id, major:minor, root, mount point, options, optional
fields..., "-", filesystem type, source, super options.  Paths are written
with octal escapes for space, tab, newline and backslash (\\040 \\011 \\012
\\134); they are decoded here, so a mount point with a space compares equal to
the path it is.
"""


class Mount:
    __slots__ = ("mountpoint", "root", "fstype", "source", "super_options", "mount_id")

    def __init__(self, mountpoint, root, fstype, source, super_options, mount_id=0):
        self.mountpoint, self.root, self.fstype = mountpoint, root, fstype
        self.source, self.super_options = source, super_options
        self.mount_id = mount_id


def unescape(field):
    """proc's octal escapes (\\ooo) back to the bytes they stand for."""
    if "\\" not in field:
        return field
    raw = field.encode("utf-8", "surrogateescape")
    out, i = bytearray(), 0
    while i < len(raw):
        digits = raw[i + 1:i + 4]
        if raw[i] == 0x5C and len(digits) == 3 and all(0x30 <= c <= 0x37 for c in digits):
            out.append(int(digits, 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "surrogateescape")


def parse(text):
    """[Mount] from mountinfo text."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split(" ")
        tail = right.split(" ")
        if len(fields) < 5 or len(tail) < 2:
            continue
        mounts.append(Mount(unescape(fields[4]), unescape(fields[3]), tail[0], unescape(tail[1]),
                            tail[2] if len(tail) > 2 else "", int(fields[0]) if fields[0].isdigit() else 0))
    return mounts


def read(path="/proc/self/mountinfo"):
    with open(path, "rb") as f:
        return parse(f.read().decode("utf-8", "surrogateescape"))
