"""Per-container kernel settings: sysctl, personality, scheduler, I/O priority,
time namespace offsets, and the loopback interface.

``check(config, new_flags)`` runs in `create` before anything exists, so a
setting the runtime would refuse never leaves anything behind.  The apply_*
functions run in the children, each at the point the spec needs.
"""
import fcntl
import os
import sys
from oci_runtime import sockets as socket  # socket without its enum imports

from oci_runtime import namespaces
from oci_runtime.errors import ConfigError, OCIError

PERSONALITY_DOMAINS = {"LINUX": 0x0000, "LINUX32": 0x0008}
SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                  "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
               "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
               "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
               "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
TIME_CLOCKS = {"monotonic": 1, "boottime": 7}  # CLOCK_MONOTONIC, CLOCK_BOOTTIME
IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
               "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")


# ------------------------------------------------------------------ checks

def check(config, new_flags, joins=()):
    linux = config["linux"]
    for key in linux["sysctl"]:
        _check_sysctl(key, new_flags, joins)
    personality = linux.get("personality")
    if personality is not None:
        if personality.get("domain") not in PERSONALITY_DOMAINS:
            raise ConfigError("linux.personality.domain",
                              f"expected LINUX or LINUX32, got {personality.get('domain')!r}")
        if personality.get("flags"):
            raise ConfigError("linux.personality.flags", "no personality flags are supported")
    process = config["process"]
    scheduler = process.get("scheduler")
    if scheduler is not None:
        if scheduler.get("policy") not in SCHED_POLICIES:
            raise ConfigError("process.scheduler.policy", f"unknown policy {scheduler.get('policy')!r}")
        for i, flag in enumerate(scheduler.get("flags") or ()):
            if flag not in SCHED_FLAGS:
                raise ConfigError(f"process.scheduler.flags[{i}]", f"unknown flag {flag!r}")
    io = process.get("ioPriority")
    if io is not None:
        if io.get("class") not in IOPRIO_CLASSES:
            raise ConfigError("process.ioPriority.class", f"unknown class {io.get('class')!r}")
        if not isinstance(io.get("priority", 0), int) or not 0 <= io.get("priority", 0) <= 7:
            raise ConfigError("process.ioPriority.priority", "expected an integer in [0, 7]")
    offsets = linux.get("timeOffsets")
    if offsets:
        if not new_flags & namespaces.FLAGS["time"]:
            raise ConfigError("linux.timeOffsets", "requires a new time namespace in linux.namespaces")
        for clock, value in offsets.items():
            if clock not in TIME_CLOCKS:
                raise ConfigError(f"linux.timeOffsets.{clock}", "expected monotonic or boottime")
            if not isinstance(value, dict):
                raise ConfigError(f"linux.timeOffsets.{clock}", "expected an object with secs, nanosecs")
    for field in ("apparmorProfile", "selinuxLabel"):
        if process.get(field):
            _check_lsm(field)
    if linux.get("mountLabel") and not lsm_enabled("selinuxLabel"):
        raise ConfigError("linux.mountLabel", "SELinux is not enabled on this host")


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


def lsm_enabled(field):
    if field == "apparmorProfile":
        return _read("/sys/module/apparmor/parameters/enabled").startswith("Y")
    return os.path.exists("/sys/fs/selinux/enforce")


def _check_lsm(field):
    if not lsm_enabled(field):
        name = "AppArmor" if field == "apparmorProfile" else "SELinux"
        raise ConfigError(f"process.{field}", f"{name} is not enabled on this host")


def lsm_exec_records(process):
    """Plan records telling the C init which /proc attr to write just before its exec
    (AppArmor's and SELinux's exec attributes apply at the next execve).  The path
    is relative to the procfs handle the init gets as PROC_FD (procfs.py): a label
    written into a fake /proc would leave the process unconfined (CVE-2019-16884)."""
    records = []
    if process.get("apparmorProfile"):
        path = "thread-self/attr/apparmor/exec"
        if not os.path.exists("/proc/self/attr/apparmor/exec"):
            path = "thread-self/attr/exec"
        records += [f"LSM_PATH={path}", f"LSM_VALUE=exec {process['apparmorProfile']}"]
    elif process.get("selinuxLabel"):
        records += ["LSM_PATH=thread-self/attr/exec", f"LSM_VALUE={process['selinuxLabel']}"]
    return records


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


# ------------------------------------------------------------------ apply (children)

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


def apply_process_attributes(config, shim):
    linux = config["linux"]
    process = config["process"]
    if linux.get("personality"):
        shim.personality(PERSONALITY_DOMAINS[linux["personality"]["domain"]])
    scheduler = process.get("scheduler")
    if scheduler:
        flags = 0
        for name in scheduler.get("flags") or ():
            flags |= SCHED_FLAGS[name]
        try:
            shim.sched_setattr(0, SCHED_POLICIES[scheduler["policy"]], flags, scheduler.get("nice", 0),
                               scheduler.get("priority", 0), scheduler.get("runtime", 0),
                               scheduler.get("deadline", 0), scheduler.get("period", 0))
        except OSError as exc:
            raise OCIError(f"process.scheduler: {exc.strerror}") from None
    io = process.get("ioPriority")
    if io:
        try:
            shim.ioprio_set(1, 0, (IOPRIO_CLASSES[io["class"]] << 13) | io.get("priority", 0))
        except OSError as exc:
            raise OCIError(f"process.ioPriority: {exc.strerror}") from None


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
