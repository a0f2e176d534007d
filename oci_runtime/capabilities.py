"""Capability names -> bit masks for the five sets of process.capabilities.

The sets are whitelists: a capability not named is dropped.  Names unknown
to this runtime or to the running kernel are warned about and skipped, as
the runtime-spec says (a config written for a newer kernel still runs).
"""
from oci_runtime import log

NAMES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
NUMBERS = {name: i for i, name in enumerate(NAMES)}
SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


def last_cap():
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return len(NAMES) - 1


def masks(capabilities, kernel_last=None):
    """{set name: int mask} for a process.capabilities object."""
    kernel_last = last_cap() if kernel_last is None else kernel_last
    result = {}
    for set_name in SETS:
        mask = 0
        for name in capabilities.get(set_name) or ():
            number = NUMBERS.get(name)
            if number is None or number > kernel_last:
                log.warn(f"process.capabilities.{set_name}: unknown capability {name!r} skipped")
                continue
            mask |= 1 << number
        result[set_name] = mask
    result["ambient"] = raisable_ambient(result)
    return result


def raisable_ambient(result):
    """The ambient mask the kernel will take: a capability can be raised into
    the ambient set only while it is both permitted and inheritable
    (PR_CAP_AMBIENT_RAISE fails with EPERM otherwise).  runc raises what it can
    and ignores the rest, so a config as `runc spec` 1.1 writes it (ambient
    without inheritable) and `exec --cap` (which adds to ambient only) run;
    the dropped ones are named in the debug log."""
    wanted = result["ambient"]
    allowed = wanted & result["permitted"] & result["inheritable"]
    dropped = [NAMES[n] for n in range(len(NAMES)) if wanted & ~allowed & (1 << n)]
    if dropped:
        log.debug(f"process.capabilities.ambient: {', '.join(dropped)} not raised: "
                  "an ambient capability must also be permitted and inheritable")
    return allowed
