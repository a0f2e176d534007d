"""`oci-runtime update [--resources FILE|-] [flags] <id>`: change a running container's limits.

The new values are merged into the resources recorded at create, written to
the cgroups (same translation and error messages as create), and recorded.
Memory flags accept runc's units ("64m", "1g").
"""
import json
import sys

from oci_runtime import config as config_mod
from oci_runtime.cgroups import resources as resources_mod
from oci_runtime.errors import ContainerNotRunning, OCIError
from oci_runtime.state import open_container

# flag dest -> (resources group, key, parser)
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_bytes(text):
    low = text.strip().lower().rstrip("b").rstrip("i")
    if low == "-1":
        return -1
    if low and low[-1] in _UNITS and low[:-1].isdigit():
        return int(low[:-1]) * _UNITS[low[-1]]
    if low.isdigit():
        return int(low)
    raise OCIError(f"invalid size {text!r} (e.g. 64m, 1g, or a number of bytes)")


FLAG_MAP = {
    "memory": ("memory", "limit", parse_bytes),
    "memory_reservation": ("memory", "reservation", parse_bytes),
    "memory_swap": ("memory", "swap", parse_bytes),
    "cpu_shares": ("cpu", "shares", int),
    "cpu_quota": ("cpu", "quota", int),
    "cpu_period": ("cpu", "period", int),
    "cpu_rt_runtime": ("cpu", "realtimeRuntime", int),
    "cpu_rt_period": ("cpu", "realtimePeriod", int),
    "cpuset_cpus": ("cpu", "cpus", str),
    "cpuset_mems": ("cpu", "mems", str),
    "pids_limit": ("pids", "limit", int),
    "blkio_weight": ("blockIO", "weight", int),
}


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
            try:
                requested.setdefault(group, {})[key] = parse(raw)
            except ValueError:
                raise OCIError(f"invalid value {raw!r} for --{dest.replace('_', '-')}") from None
    return requested


def _check_before_update(paths, merged):
    """memory.checkBeforeUpdate: refuse a limit below what the container already uses."""
    memory = merged.get("memory") or {}
    limit = memory.get("limit")
    if not memory.get("checkBeforeUpdate") or limit in (None, -1):
        return
    from oci_runtime.cgroups import stats

    usage = stats.memory(paths)["usage"].get("usage", 0)
    if limit < usage:
        raise OCIError(f"linux.resources.memory.limit: {limit} is below the current usage {usage} "
                       "(checkBeforeUpdate)")


def main(g, opts, args):
    requested = _requested(opts)
    config_mod.check_resources(requested)
    st, lock = open_container(g["root"], args[0])
    with lock:
        if st.status() == "stopped":
            raise ContainerNotRunning()
        paths = st.private.get("cgroups") or {}
        recorded = st.private.setdefault("resources", {})
        merged = {group: dict(recorded.get(group) or {}, **values) if isinstance(values, dict) else values
                  for group, values in requested.items()}
        _check_before_update(paths, merged)
        try:
            resources_mod.apply(paths, merged)
        except OCIError:
            # v1 refuses a memory limit above memory+swap (and the reverse):
            # runc's answer is to retry with swap written first.
            if not (merged.get("memory") or {}).get("swap"):
                raise
            resources_mod.apply(paths, merged, swap_first=True)
        resources_mod.apply(paths, merged, deferred=True)
        recorded.update(merged)
        st.save()
    return 0
