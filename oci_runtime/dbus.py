"""A small D-Bus client: method calls and signals on a unix socket.

What the systemd cgroup driver needs (cgroups/systemd.py): connect to the
system bus (or to systemd's private socket, which speaks the same protocol
without a bus daemon), authenticate as this uid, call methods, and read the
signal that says a job is done.  Written from the D-Bus specification (wire
format, EXTERNAL authentication); no D-Bus library is used because the pure
Python one (jeepney) imports typing, enum, re and socket: ~30 ms, as much as a
whole `runc create`, on every create of a systemd host.

Values: the wire types map to int (y b n q i u x t), str (s o g), list (a),
tuple (struct), dict (a{..}), and a variant is written from ``(signature,
value)`` and read as its value.  Only little-endian messages are written;
both byte orders are read.
"""
import os

from oci_runtime import sockets as socket  # socket without its enum imports

SYSTEM_BUS = "/run/dbus/system_bus_socket"
SYSTEMD_PRIVATE = "/run/systemd/private"

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
_FIELD_PATH, _FIELD_INTERFACE, _FIELD_MEMBER, _FIELD_ERROR_NAME = 1, 2, 3, 4
_FIELD_REPLY_SERIAL, _FIELD_DESTINATION, _FIELD_SENDER, _FIELD_SIGNATURE = 5, 6, 7, 8

_ALIGN = {"y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8, "d": 8, "h": 4,
          "s": 4, "o": 4, "g": 1, "a": 4, "(": 8, "{": 8, "v": 1}
_INTS = {"y": (1, False), "b": (4, False), "n": (2, True), "q": (2, False), "i": (4, True),
         "u": (4, False), "x": (8, True), "t": (8, False), "h": (4, False)}


class DBusError(Exception):
    """An error reply (``name``: org.freedesktop.systemd1.NoSuchUnit, ...) or a
    broken conversation (name "")."""

    def __init__(self, name, message):
        super().__init__(f"{name}: {message}" if name else message)
        self.name = name
        self.message = message


# ------------------------------------------------------------------ signatures

def _type_end(sig, i):
    """Index just past the complete type that starts at ``sig[i]``."""
    c = sig[i]
    if c == "a":
        return _type_end(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        i += 1
        while sig[i] != close:
            i = _type_end(sig, i)
        return i + 1
    if c not in _ALIGN:
        raise DBusError("", f"unknown D-Bus type {c!r} in signature {sig!r}")
    return i + 1


def split_signature(sig):
    """The complete types of ``sig`` ("sa(sv)" -> ["s", "a(sv)"])."""
    types, i = [], 0
    while i < len(sig):
        end = _type_end(sig, i)
        types.append(sig[i:end])
        i = end
    return types


# ------------------------------------------------------------------ writing

def _pad(buf, align):
    buf += b"\0" * (-len(buf) % align)


def _write(buf, sig, value):
    c = sig[0]
    _pad(buf, _ALIGN[c])
    if c in _INTS:
        size, signed = _INTS[c]
        buf += int(value).to_bytes(size, "little", signed=signed)
    elif c in "so":
        data = value.encode()
        buf += len(data).to_bytes(4, "little") + data + b"\0"
    elif c == "g":
        data = value.encode()
        buf += bytes((len(data),)) + data + b"\0"
    elif c == "v":
        inner, inner_value = value
        _write(buf, "g", inner)
        _write(buf, inner, inner_value)
    elif c == "a":
        element = sig[1:]
        length_at = len(buf)
        buf += b"\0\0\0\0"
        _pad(buf, _ALIGN[element[0]])
        start = len(buf)
        items = value.items() if element[0] == "{" else value
        for item in items:
            _write(buf, element, item)
        buf[length_at:length_at + 4] = (len(buf) - start).to_bytes(4, "little")
    elif c in "({":
        for field_sig, field in zip(split_signature(sig[1:-1]), value):
            _write(buf, field_sig, field)
    else:
        raise DBusError("", f"cannot write D-Bus type {c!r}")


def marshal(sig, values, buf=None):
    """``values`` (one per complete type of ``sig``) in D-Bus wire format."""
    buf = bytearray() if buf is None else buf
    for field_sig, value in zip(split_signature(sig), values):
        _write(buf, field_sig, value)
    return buf


# ------------------------------------------------------------------ reading

class _Reader:
    def __init__(self, data, order):
        self.data, self.order, self.at = data, order, 0

    def _align(self, align):
        self.at += -self.at % align

    def read(self, sig):
        c = sig[0]
        self._align(_ALIGN[c])
        if c in _INTS:
            size, signed = _INTS[c]
            value = int.from_bytes(self.data[self.at:self.at + size], self.order, signed=signed)
            self.at += size
            return bool(value) if c == "b" else value
        if c in "so":
            size = self.read("u")
            value = bytes(self.data[self.at:self.at + size]).decode()
            self.at += size + 1
            return value
        if c == "g":
            size = self.data[self.at]
            value = bytes(self.data[self.at + 1:self.at + 1 + size]).decode()
            self.at += size + 2
            return value
        if c == "v":
            return self.read(self.read("g"))
        if c == "a":
            size = self.read("u")
            element = sig[1:]
            self._align(_ALIGN[element[0]])
            end = self.at + size
            items = []
            while self.at < end:
                items.append(self.read(element))
            return dict(items) if element[0] == "{" else items
        if c in "({":
            return tuple(self.read(field) for field in split_signature(sig[1:-1]))
        raise DBusError("", f"cannot read D-Bus type {c!r}")


def unmarshal(sig, data, order="little"):
    reader = _Reader(data, order)
    return [reader.read(field) for field in split_signature(sig)]


class Message:
    """One received message: its type, header fields and body values."""

    def __init__(self, kind, serial, fields, body):
        self.kind, self.serial, self.fields, self.body = kind, serial, fields, body

    @property
    def reply_serial(self):
        return self.fields.get(_FIELD_REPLY_SERIAL)

    @property
    def member(self):
        return self.fields.get(_FIELD_MEMBER)

    @property
    def error_name(self):
        return self.fields.get(_FIELD_ERROR_NAME, "")


# ------------------------------------------------------------------ the connection

class Connection:
    """One authenticated connection; ``bus`` says whether a bus daemon is on the
    other end (then Hello is the first call and signals need a match rule)."""

    def __init__(self, path, bus, timeout=30.0, uid=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.bus = bus
        self.uid = os.geteuid() if uid is None else uid  # as the other end sees us: host_uid()
        self.serial = 0
        self.pending = []  # messages read while waiting for another one
        self.buffer = bytearray()
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
            self._authenticate()
            if bus:
                self.call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello")
            else:
                self._await_peer(timeout)
        except BaseException:
            self.sock.close()
            raise

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _authenticate(self):
        uid = str(self.uid).encode().hex()
        self.sock.sendall(b"\0AUTH EXTERNAL " + uid.encode() + b"\r\n")
        line = self._line()
        if not line.startswith(b"OK "):
            raise DBusError("", f"authentication refused: {line.decode(errors='replace')}")
        self.sock.sendall(b"BEGIN\r\n")

    def _await_peer(self, timeout):
        """Ping a peer without a bus until it answers.  systemd's private socket drops
        what arrives in the first moments of a connection (seen with systemd 252: a
        call sent right after BEGIN got no reply, the same call 50 ms later did), so
        a first call could wait for ever; a Ping (org.freedesktop.DBus.Peer, which
        every sd-bus peer answers) is sent again every 50 ms until one is answered."""
        import time  # built into the interpreter

        deadline = time.monotonic() + timeout
        sent = set()
        try:
            while True:
                sent.add(self.send(METHOD_CALL, "", "/org/freedesktop/DBus", "org.freedesktop.DBus.Peer", "Ping"))
                self.sock.settimeout(0.05)
                try:
                    while True:
                        message = self.receive()
                        if message.kind in (METHOD_RETURN, ERROR) and message.reply_serial in sent:
                            return
                        self.pending.append(message)
                except TimeoutError:
                    if time.monotonic() > deadline:
                        raise
        finally:
            self.sock.settimeout(timeout)

    def _line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, _, rest = bytes(self.buffer).partition(b"\r\n")
        self.buffer = bytearray(rest)
        return line

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise DBusError("", "the connection was closed by the other end")
        self.buffer += chunk

    def _take(self, size):
        while len(self.buffer) < size:
            self._fill()
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def send(self, kind, destination, path, interface, member, sig="", args=(), flags=0):
        self.serial += 1
        body = marshal(sig, args) if sig else bytearray()
        fields = [(_FIELD_PATH, ("o", path)), (_FIELD_MEMBER, ("s", member))]
        if interface:
            fields.append((_FIELD_INTERFACE, ("s", interface)))
        if destination:
            fields.append((_FIELD_DESTINATION, ("s", destination)))
        if sig:
            fields.append((_FIELD_SIGNATURE, ("g", sig)))
        header = marshal("yyyyuua(yv)", [ord("l"), kind, flags, 1, len(body), self.serial, fields])
        _pad(header, 8)
        self.sock.sendall(bytes(header + body))
        return self.serial

    def receive(self):
        """The next message from the socket."""
        fixed = self._take(16)
        order = "little" if fixed[0:1] == b"l" else "big"
        body_size = int.from_bytes(fixed[4:8], order)
        fields_size = int.from_bytes(fixed[12:16], order)
        rest = self._take(fields_size + (-(16 + fields_size) % 8) + body_size)
        _order, kind, _flags, _version, _size, serial, fields = unmarshal("yyyyuua(yv)", fixed + rest[:fields_size],
                                                                         order)
        fields = dict(fields)
        body_data = rest[len(rest) - body_size:] if body_size else b""
        sig = fields.get(_FIELD_SIGNATURE, "")
        body = unmarshal(sig, body_data, order) if sig else []
        return Message(kind, serial, fields, body)

    def call(self, destination, path, interface, member, sig="", args=()):
        """Call and wait for the reply's body; an error reply raises DBusError."""
        serial = self.send(METHOD_CALL, destination, path, interface, member, sig, args)
        while True:
            message = self.receive()
            if message.kind in (METHOD_RETURN, ERROR) and message.reply_serial == serial:
                if message.kind == ERROR:
                    text = message.body[0] if message.body and isinstance(message.body[0], str) else ""
                    raise DBusError(message.error_name, text)
                return message.body
            self.pending.append(message)

    def wait_for_signal(self, member, matches):
        """The body of the first signal ``member`` for which ``matches(body)`` holds,
        among those already read and those still to come."""
        for index, message in enumerate(self.pending):
            if message.kind == SIGNAL and message.member == member and matches(message.body):
                del self.pending[index]
                return message.body
        while True:
            message = self.receive()
            if message.kind == SIGNAL and message.member == member and matches(message.body):
                return message.body
            self.pending.append(message)


def _unix_path(address):
    """The first unix:path= of a D-Bus address list, or ""."""
    for part in address.split(";"):
        if part.startswith("unix:"):
            for option in part[5:].split(","):
                if option.startswith("path="):
                    return option[5:]
    return ""


def system_bus_path():
    """The system bus's socket (DBUS_SYSTEM_BUS_ADDRESS when it names a unix path)."""
    return _unix_path(os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "")) or SYSTEM_BUS


def session_bus_path():
    """The user's session bus: DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus
    (where dbus-user-session and systemd --user put it)."""
    return (_unix_path(os.environ.get("DBUS_SESSION_BUS_ADDRESS", ""))
            or os.path.join(os.environ.get("XDG_RUNTIME_DIR", ""), "bus"))


def user_manager_private_path():
    """systemd --user's own socket, the fallback without a session bus."""
    return os.path.join(os.environ.get("XDG_RUNTIME_DIR", ""), "systemd", "private")


def host_uid():
    """This process's uid as the host (a bus daemon, systemd) sees it: inside a user
    namespace (rootless podman runs the runtime as its uid 0) the uid it maps to
    one level up, which for podman's namespace is the host's."""
    uid = os.geteuid()
    try:
        with open("/proc/self/uid_map") as f:
            for line in f:
                inside, outside, count = (int(n) for n in line.split())
                if inside <= uid < inside + count:
                    return outside + uid - inside
    except (OSError, ValueError):
        pass
    return uid
