"""The systemd cgroup driver (`--systemd-cgroup`): the container's cgroup is a
transient scope unit that systemd makes and owns.

On a host run by systemd, systemd owns the cgroup tree: a directory it does not
know of may be moved or removed, and its limits are what its units say.  So, as
runc does, the container's cgroup is a scope unit started over D-Bus
(StartTransientUnit) with the container's first process in it, Delegate=yes
(the runtime may then write the cgroup's files and make sub-cgroups), the
slice the engine named, and the limits systemd knows as unit properties; the
files are then written as on any cgroup v2 host (fs_v2: every limit, also
those systemd has no property for, the device program, freezing).  delete
stops the unit (systemd removes the cgroup) and clears a failed state so the
name can be used again.

``linux.cgroupsPath`` is ``slice:prefix:name`` (runc's rules): the unit is
``prefix-name.scope`` (``name`` alone when it already ends in ``.scope``) in
``slice`` (empty: system.slice; ``a-b.slice`` lives in ``a.slice``; ``-.slice``
is the root); an empty cgroupsPath means ``:oci-runtime:<id>``.

D-Bus: the system bus, or, when it is not there (no dbus-daemon), systemd's
private socket, as runc does as root (dbus.py).  Only on a pure cgroup v2 host
for now (docs/cgroups.md).
"""
import os

from oci_runtime.cgroups import V2_KEY, fs_v2
from oci_runtime.errors import ConfigError, OCIError

DEFAULT_SLICE = "system.slice"
USER_DEFAULT_SLICE = "user.slice"  # rootless: in the user's own systemd --user
DEFAULT_PREFIX = "oci-runtime"
SYSTEMD_RUNTIME_DIR = "/run/systemd/system"  # exists when systemd is PID 1 (sd_booted)
_MANAGER = ("org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager")
_INFINITY = 2**64 - 1


def running():
    return os.path.isdir(SYSTEMD_RUNTIME_DIR)


def unit_of(cgroups_path, container_id, default_slice=DEFAULT_SLICE):
    """(slice, unit) for ``linux.cgroupsPath``; a malformed value raises ConfigError."""
    if not cgroups_path:
        return default_slice, f"{DEFAULT_PREFIX}-{container_id}.scope"
    parts = cgroups_path.split(":")
    if len(parts) != 3:
        raise ConfigError("linux.cgroupsPath", f"{cgroups_path!r}: expected cgroupsPath to be of format "
                          "\"slice:prefix:name\" for systemd cgroups (--systemd-cgroup), e.g. "
                          "\"system.slice:myengine:<id>\"")
    slice_name, prefix, name = parts
    if not name:
        raise ConfigError("linux.cgroupsPath", f"{cgroups_path!r}: the name after the second ':' is empty")
    if "/" in name or "/" in prefix:
        raise ConfigError("linux.cgroupsPath", f"{cgroups_path!r}: a unit name cannot contain '/'")
    if name.endswith(".slice"):
        raise ConfigError("linux.cgroupsPath", f"{cgroups_path!r}: a slice as the container's own unit is not "
                          "supported: give a name for its scope (\"slice:prefix:name\" makes prefix-name.scope)")
    unit = name if name.endswith(".scope") else (f"{prefix}-{name}.scope" if prefix else f"{name}.scope")
    return slice_name or default_slice, unit


def expand_slice(slice_name):
    """The cgroup path of a slice: ``a-b.slice`` -> ``a.slice/a-b.slice``; ``-.slice`` -> ''."""
    if not slice_name.endswith(".slice") or "/" in slice_name:
        raise ConfigError("linux.cgroupsPath", f"invalid slice name {slice_name!r} (a systemd slice: "
                          "name.slice, without '/'; a-b.slice is b under a.slice)")
    if slice_name == "-.slice":
        return ""
    path, prefix = [], ""
    for component in slice_name[:-len(".slice")].split("-"):
        if not component:
            raise ConfigError("linux.cgroupsPath", f"invalid slice name {slice_name!r} (an empty part between "
                              "'-')")
        path.append(f"{prefix}{component}.slice")
        prefix += component + "-"
    return "/".join(path)


def resolve(cgroups_path, container_id, mountpoint):
    """The container's paths ({V2_KEY: directory}) on a unified host."""
    slice_name, unit = unit_of(cgroups_path, container_id)
    return {V2_KEY: os.path.normpath(os.path.join(mountpoint, expand_slice(slice_name), unit))}


def resolve_for_user(cgroups_path, container_id, mountpoint):
    """The same for a scope of the caller's own systemd --user (rootless): slices are
    below the user manager's cgroup (user@UID.service), asked of it; an empty
    cgroupsPath puts the scope in its user.slice, as runc does rootless."""
    slice_name, unit = unit_of(cgroups_path, container_id, USER_DEFAULT_SLICE)
    with _manager(user=True) as manager:
        (own,) = manager.call_plain(_MANAGER[0], _MANAGER[1], "org.freedesktop.DBus.Properties", "Get", "ss",
                                    (_MANAGER[2], "ControlGroup"), "asking systemd --user for its cgroup")
    if not isinstance(own, str) or not own.startswith("/"):
        raise OCIError(f"systemd cgroup driver: systemd --user reported no cgroup of its own ({own!r})")
    return {V2_KEY: os.path.normpath(os.path.join(mountpoint, own.lstrip("/"), expand_slice(slice_name), unit))}


def properties(resources):
    """linux.resources as the unit properties systemd knows (a(sv)); the cgroup
    files are written as well (fs_v2), as runc does."""
    props = []
    memory = resources.get("memory") or {}
    limit = memory.get("limit")
    if limit is not None:
        props.append(("MemoryMax", ("t", _INFINITY if limit < 0 else limit)))
    if memory.get("reservation") is not None:
        reservation = memory["reservation"]
        props.append(("MemoryLow", ("t", _INFINITY if reservation < 0 else reservation)))
    swap = memory.get("swap")
    if swap is not None and limit is not None and limit > 0:
        props.append(("MemorySwapMax", ("t", _INFINITY if swap < 0 else max(swap - limit, 0))))
    pids = resources.get("pids") or {}
    if pids.get("limit") is not None:
        props.append(("TasksMax", ("t", _INFINITY if pids["limit"] <= 0 else pids["limit"])))
    cpu = resources.get("cpu") or {}
    if cpu.get("shares"):
        props.append(("CPUWeight", ("t", 1 + ((cpu["shares"] - 2) * 9999) // 262142)))
    quota, period = cpu.get("quota"), cpu.get("period")
    if period:
        props.append(("CPUQuotaPeriodUSec", ("t", period)))
    if quota is not None and quota != 0:
        if quota < 0:
            props.append(("CPUQuotaPerSecUSec", ("t", _INFINITY)))
        else:
            per_second = quota * 1_000_000 // (period or 100_000)
            per_second += -per_second % 10_000  # systemd keeps whole percents: round up, as runc
            props.append(("CPUQuotaPerSecUSec", ("t", per_second)))
    if cpu.get("cpus"):
        props.append(("AllowedCPUs", ("ay", _bitmask(cpu["cpus"], "linux.resources.cpu.cpus"))))
    if cpu.get("mems"):
        props.append(("AllowedMemoryNodes", ("ay", _bitmask(cpu["mems"], "linux.resources.cpu.mems"))))
    weight = (resources.get("blockIO") or {}).get("weight")
    if weight:
        props.append(("IOWeight", ("t", 1 + (weight - 10) * 9999 // 990)))
    return props


PROPERTY_ANNOTATION = "org.systemd.property."
_GVARIANT_TYPES = {"boolean": "b", "byte": "y", "int16": "n", "uint16": "q", "int32": "i", "uint32": "u",
                   "int64": "x", "uint64": "t", "string": "s", "objectpath": "o", "signature": "g"}


def annotation_properties(annotations):
    """``org.systemd.property.NAME`` annotations as unit properties, as runc passes
    them: the value in GVariant text form ("uint64 123456789", "'inactive-or-failed'",
    "true", "['a', 'b']"); a bare number is an int32, as in GVariant, so time
    properties (NAME ending in USec) need "uint64 N".  A name that is not a
    property name, or a value this parser does not read, is refused naming it."""
    props = []
    for key, text in (annotations or {}).items():
        if not key.startswith(PROPERTY_ANNOTATION):
            continue
        name = key[len(PROPERTY_ANNOTATION):]
        if not (name[:1].isascii() and name[:1].isupper() and name.isascii() and name.isalnum()):
            raise ConfigError(f"annotations.{key}", f"{name!r} is not a systemd property name (ASCII letters "
                              "and digits, starting with a capital letter, e.g. TimeoutStopUSec)")
        try:
            props.append((name, _parse_gvariant(str(text).strip())))
        except ValueError as exc:
            raise ConfigError(f"annotations.{key}", f"{text!r}: {exc} (GVariant text, e.g. \"uint64 123\", "
                              "\"'text'\", \"true\")") from None
    return props


def _parse_gvariant(text):
    """(signature, value) of one GVariant text value (the subset above)."""
    sig = None
    if text.startswith("@"):
        sig, _, text = text[1:].partition(" ")
    else:
        word, _, rest = text.partition(" ")
        if word in _GVARIANT_TYPES and rest:
            sig, text = _GVARIANT_TYPES[word], rest
    text = text.strip()
    if text.startswith("["):
        if not text.endswith("]"):
            raise ValueError("an array without its closing ']'")
        items = [_parse_gvariant(item)[1] if item else None for item in _split_items(text[1:-1])]
        if None in items:
            raise ValueError("an empty array element")
        element = sig[1:] if sig and sig.startswith("a") else (
            "s" if items and all(isinstance(i, str) for i in items) else "i")
        if not items and not sig:
            raise ValueError("an empty array needs its type, e.g. \"@as []\"")
        return "a" + element, items
    if text in ("true", "false"):
        return sig or "b", text == "true"
    if text[:1] in ("'", '"'):
        if len(text) < 2 or text[-1] != text[0]:
            raise ValueError("a string without its closing quote")
        return sig or "s", text[1:-1].replace("\\" + text[0], text[0]).replace("\\\\", "\\")
    try:
        number = int(text, 0)
    except ValueError:
        raise ValueError("not a number, string, boolean or array") from None
    sig = sig or "i"
    if sig not in "ynqiuxth" or len(sig) != 1:
        raise ValueError(f"a number cannot be of type {sig!r}")
    return sig, number


def _split_items(text):
    """The comma-separated items of an array's inside, commas in quotes kept."""
    items, current, quote = [], "", None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ",":
            items.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip() or items:
        items.append(current.strip())
    return items


def _bitmask(text, field):
    """"0-2,5" -> the bytes of a CPU or node bitmask (bit n of byte n // 8)."""
    bits = set()
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            bits.update(range(int(first), int(last or first) + 1))
    except ValueError:
        raise ConfigError(field, f"{text!r} is not a list of numbers and ranges (e.g. \"0-3,6\")") from None
    mask = bytearray(max(bits) // 8 + 1 if bits else 0)
    for bit in bits:
        mask[bit // 8] |= 1 << (bit % 8)
    return bytes(mask)


class Driver(fs_v2.Driver):
    name = "systemd"
    user = False  # the system's systemd; systemd_user.py: the caller's own systemd --user

    def __init__(self, paths, description="", extra_properties=()):
        super().__init__(paths)
        self.description = description
        self.extra_properties = list(extra_properties)  # from org.systemd.property.* annotations
        self._properties_set = False  # create hands them over with the unit's start

    @property
    def unit(self):
        return os.path.basename(self.directory)

    @property
    def slice(self):
        parent = os.path.basename(os.path.dirname(self.directory))
        return parent if parent.endswith(".slice") else "-.slice"

    def missing(self):
        return []  # systemd makes the slices and the scope: nothing of ours to list or remove

    def create(self, first_pid=0, resources=None):
        props = [("Description", ("s", self.description or f"oci-runtime {self.unit}")),
                 ("Slice", ("s", self.slice)),
                 ("Delegate", ("b", True)),
                 ("DefaultDependencies", ("b", False)),
                 ("MemoryAccounting", ("b", True)), ("CPUAccounting", ("b", True)),
                 ("IOAccounting", ("b", True)), ("TasksAccounting", ("b", True))]
        if first_pid:
            props.append(("PIDs", ("au", [first_pid])))
        props += properties(resources or {})
        props += self.extra_properties  # last: what the annotations say wins, as with runc
        with _manager(self.user) as manager:
            manager.run_job("StartTransientUnit", "ssa(sv)a(sa(sv))", (self.unit, "replace", props, []),
                            f"starting the scope unit {self.unit}")
        self._properties_set = True
        return []

    def apply(self, resources, deferred=False, swap_first=False):
        if not deferred and not self._properties_set:  # update: the unit learns the new limits too
            props = properties(resources)
            if props:
                with _manager(self.user) as manager:
                    manager.call("SetUnitProperties", "sba(sv)", (self.unit, True, props),
                                 f"setting the properties of {self.unit}")
        super().apply(resources, deferred, swap_first)

    def remove(self, timeout=5.0):
        with _manager(self.user) as manager:
            try:
                manager.run_job("StopUnit", "ss", (self.unit, "replace"), f"stopping the scope unit {self.unit}")
            except _NoSuchUnit:
                pass  # gone already: systemd stops a scope once its last process has exited
            try:
                manager.call("ResetFailedUnit", "s", (self.unit,), "")
            except OCIError:
                pass  # not failed, or not loaded: either way the name is free
        super().remove(timeout)


class _NoSuchUnit(OCIError):
    pass


class _manager:  # noqa: N801 - used as a context manager, like open()
    """systemd's Manager object over one D-Bus connection: the system's (the system
    bus, else its private socket), or with ``user`` the caller's own systemd --user
    (the session bus, else its private socket), authenticated as the uid the host
    sees (rootless podman runs the runtime as uid 0 of its user namespace)."""

    def __init__(self, user=False):
        self.user = user

    def __enter__(self):
        from oci_runtime import dbus

        self.dbus = dbus
        if self.user:
            uid = dbus.host_uid()
            bus, private, what = dbus.session_bus_path(), dbus.user_manager_private_path(), "systemd --user"
        else:
            uid, bus, private, what = None, dbus.system_bus_path(), dbus.SYSTEMD_PRIVATE, "systemd"
        try:
            self.conn = dbus.Connection(bus, bus=True, uid=uid)
        except (OSError, dbus.DBusError):
            try:
                self.conn = dbus.Connection(private, bus=False, uid=uid)
            except (OSError, dbus.DBusError) as exc:
                raise OCIError(f"systemd cgroup driver: cannot reach {what} over D-Bus ({bus}, then {private}): "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
        return self

    def __exit__(self, *exc):
        self.conn.close()

    def call(self, member, sig, args, doing):
        try:
            return self.conn.call(*_MANAGER, member, sig, args)
        except self.dbus.DBusError as exc:
            if exc.name in ("org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.systemd1.LoadFailed"):
                raise _NoSuchUnit(f"{doing}: {exc.message}") from None
            raise OCIError(f"systemd cgroup driver: {doing}: {exc.message or exc.name}") from None
        except OSError as exc:
            raise OCIError(f"systemd cgroup driver: {doing}: {exc.strerror or 'timed out'}") from None

    def run_job(self, member, sig, args, doing):
        """Call a method that queues a job and wait until systemd reports it done."""
        if self.conn.bus:
            self.call_plain("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch",
                            "s", ("type='signal',sender='org.freedesktop.systemd1',"
                                  "interface='org.freedesktop.systemd1.Manager',member='JobRemoved'",), doing)
        self.call("Subscribe", "", (), doing)
        (job,) = self.call(member, sig, args, doing)
        try:
            _id, _job, _unit, result = self.conn.wait_for_signal("JobRemoved", lambda body: body[1] == job)
        except (OSError, self.dbus.DBusError) as exc:
            raise OCIError(f"systemd cgroup driver: {doing}: no answer from systemd "
                           f"({getattr(exc, 'strerror', None) or exc})") from None
        if result != "done":
            raise OCIError(f"systemd cgroup driver: {doing}: the job ended {result!r} "
                           f"(journalctl -u {args[0]} may say why)")

    def call_plain(self, destination, path, interface, member, sig, args, doing):
        try:
            return self.conn.call(destination, path, interface, member, sig, args)
        except (OSError, self.dbus.DBusError) as exc:
            raise OCIError(f"systemd cgroup driver: {doing}: {getattr(exc, 'strerror', None) or exc}") from None
