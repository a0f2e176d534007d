"""`oci-runtime update [--resources FILE|-] [flags] <id>`: change a running container's limits.

The new values are merged into the resources recorded at create, written to
the cgroups (same translation and error messages as create), and recorded.
The memory flags take what runc's take: "-1" for no limit, or a size as
go-units' RAMInBytes reads it ("4096", "64m", "1.5g", "512MiB", "1 k"; see
units.parse_ram_size).  --kernel-memory and --kernel-memory-tcp are checked the
same way and then ignored with runc's warning (the kernel no longer limits
kernel memory separately).
"""
import json
import sys

from oci_runtime import units
from oci_runtime.errors import OCIError
from oci_runtime.lifecycle.update import update


def parse_bytes(text):
    """A memory flag's value as runc's update reads it: exactly "-1" is "no limit"
    (runc tests for that string before calling go-units, which refuses negative
    sizes, so "-1k" and " -1" are errors), anything else a size in RAMInBytes'
    form.  Raises units.FormatError."""
    if text == "-1":
        return -1
    return units.parse_ram_size(text)


# flag dest -> (resources group, key, parser)
FLAG_MAP = {
    "memory": ("memory", "limit", parse_bytes),
    "memory_reservation": ("memory", "reservation", parse_bytes),
    "memory_swap": ("memory", "swap", parse_bytes),
    "cpu_share": ("cpu", "shares", int),
    "cpu_quota": ("cpu", "quota", int),
    "cpu_period": ("cpu", "period", int),
    "cpu_rt_runtime": ("cpu", "realtimeRuntime", int),
    "cpu_rt_period": ("cpu", "realtimePeriod", int),
    "cpuset_cpus": ("cpu", "cpus", str),
    "cpuset_mems": ("cpu", "mems", str),
    "pids_limit": ("pids", "limit", int),
    "blkio_weight": ("blockIO", "weight", int),
}

# Obsolete in runc too: their values are checked as sizes, then ignored.
_KERNEL_MEMORY_FLAGS = ("kernel_memory", "kernel_memory_tcp")


def _requested(opts):
    if opts["resources"]:
        source = sys.stdin if opts["resources"] == "-" else open(opts["resources"])
        with source:
            try:
                requested = json.load(source)
            except ValueError as exc:
                raise OCIError(f"--resources: invalid JSON: {exc}") from None
    else:
        requested = {}
    for dest, (group, key, parse) in FLAG_MAP.items():
        raw = opts.get(dest)
        if raw not in (None, ""):
            requested.setdefault(group, {})[key] = _parse_flag(dest, parse, raw)
    for dest in _KERNEL_MEMORY_FLAGS:
        if opts.get(dest) not in (None, ""):
            _parse_flag(dest, parse_bytes, opts[dest])
    return requested


def _parse_flag(dest, parse, raw):
    """One flag's value; a bad one is an OCIError naming the flag and the value
    (the flags are all checked before the container is looked up)."""
    flag = "--" + dest.replace("_", "-")
    try:
        return parse(raw)
    except units.FormatError as exc:
        raise OCIError(f"{flag} {units.quote(raw)}: {exc} "
                       f"(e.g. {units.SIZE_EXAMPLES}, or -1 for no limit)") from None
    except ValueError:
        raise OCIError(f"invalid value {raw!r} for {flag}") from None


# Intel RDT: this runtime does not manage resctrl groups; refused with runc's words
# for a host without the feature (what runc says on every host here).
_RDT_FLAGS = (("l3_cache_schema", "Intel RDT/CAT: l3 cache schema is not enabled"),
              ("mem_bw_schema", "Intel RDT/MBA: memory bandwidth schema is not enabled"))


def main(g, opts, args):
    for dest, refusal in _RDT_FLAGS:
        if opts.get(dest):
            raise OCIError(f"--{dest.replace('_', '-')} {opts[dest]!r}: {refusal} "
                           "(oci-runtime does not support linux.intelRdt)")
    requested = _requested(opts)
    if any(opts.get(dest) not in (None, "") for dest in _KERNEL_MEMORY_FLAGS):
        from oci_runtime import log

        log.warn("Kernel memory settings are ignored and will be removed")  # runc's words
    update(g["root"], args[0], requested)
    return 0
