"""The container's own namespaces, set up: sysctls (those that live in its ipc
or network namespace), the time namespace's offsets, the loopback interface.

``check`` runs in `create` before anything exists, so a setting the runtime
would refuse never leaves anything behind; the apply functions run in the
children, each at the point the spec needs (process/container_init.py).
"""
import fcntl
import sys
from oci_runtime import sockets as socket  # socket without its enum imports

from oci_runtime import namespaces
from oci_runtime.errors import ConfigError, OCIError

TIME_CLOCKS = {"monotonic": 1, "boottime": 7}  # CLOCK_MONOTONIC, CLOCK_BOOTTIME
IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
               "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")


def check(config, new_flags, joins=()):
    linux = config["linux"]
    for key in linux["sysctl"]:
        _check_sysctl(key, new_flags, joins)
    offsets = linux.get("timeOffsets")
    if offsets:
        if not new_flags & namespaces.FLAGS["time"]:
            raise ConfigError("linux.timeOffsets", "requires a new time namespace in linux.namespaces")
        for clock, value in offsets.items():
            if clock not in TIME_CLOCKS:
                raise ConfigError(f"linux.timeOffsets.{clock}", "expected monotonic or boottime")
            if not isinstance(value, dict):
                raise ConfigError(f"linux.timeOffsets.{clock}", "expected an object with secs, nanosecs")


def _check_sysctl(key, new_flags, joins):
    """Only sysctls that live in a namespace the container has privately: a new one,
    or one joined by path that is not the runtime's own (runc's rule for net.*,
    applied to ipc too)."""
    if key in IPC_SYSCTLS or key.startswith("fs.mqueue."):
        needed = "ipc"
    elif key.startswith("net."):
        needed = "network"
    elif key in ("kernel.hostname", "kernel.domainname"):
        raise ConfigError(f"linux.sysctl.{key}", "use the hostname / domainname fields instead")
    else:
        raise ConfigError(f"linux.sysctl.{key}", "is not in a separate kernel namespace")
    if not namespaces.private(needed, new_flags, joins):
        raise ConfigError(f"linux.sysctl.{key}",
                          f"would change the host: it needs its own {needed} namespace "
                          "(new, or joined by path but not the runtime's)")


def apply_time_offsets(linux):
    """In the intermediate, after unshare(CLONE_NEWTIME) and before the init is forked."""
    offsets = linux.get("timeOffsets")
    if not offsets:
        return
    lines = "".join(f"{TIME_CLOCKS[clock]} {int(v.get('secs', 0))} {int(v.get('nanosecs', 0))}\n"
                    for clock, v in offsets.items())
    try:
        with open("/proc/self/timens_offsets", "w") as f:
            f.write(lines)
    except OSError as exc:
        raise OCIError(f"linux.timeOffsets: {exc.strerror}") from None


def apply_sysctls(proc_handle, sysctls):
    """In the init, through the runtime's own procfs handle (procfs.py): the
    container's /proc/sys may be anything the bundle mounted there."""
    if not sysctls:
        return
    from oci_runtime import procfs  # loaded before the seal when there are sysctls (Spawn.load_modules)

    for key, value in sysctls.items():
        relative = "sys/" + key.replace(".", "/")
        try:
            procfs.write(proc_handle, relative, value)
        except OSError as exc:
            raise OCIError(f"linux.sysctl.{key}: writing /proc/{relative}: {exc.strerror}") from None


def loopback_up():
    """A new network namespace starts with lo down; runc brings it up."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = int.from_bytes(fcntl.ioctl(sock, SIOCGIFFLAGS, _ifreq_flags(b"lo", 0))[16:18], sys.byteorder)
        fcntl.ioctl(sock, SIOCSIFFLAGS, _ifreq_flags(b"lo", flags | IFF_UP))


def _ifreq_flags(name, flags):
    """struct ifreq with ifr_flags: the name in 16 bytes, a short, padding to 40
    bytes (built by hand: `struct` would be one more import on every create)."""
    return name.ljust(16, b"\0") + flags.to_bytes(2, sys.byteorder) + bytes(22)
