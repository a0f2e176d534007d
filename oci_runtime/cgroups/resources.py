"""linux.resources -> cgroup files, written once for both cgroup versions.

``settings(resources)`` turns the OCI object into a list of Setting rows:
(JSON path, controller, v1 file, v1 value, v2 file, v2 value).  ``apply``
asks the container's cgroup driver where each controller can be written
(``writable``: a v1 hierarchy, or the cgroup2 directory; on a hybrid host
like this one hugetlb lives only there) and writes the row's file for that
version.  A row the host
cannot apply (no such controller, no such file, a v1-only knob on v2) is an
error naming the JSON path: never a silent skip.
"""
import os

from oci_runtime.errors import OCIError
from oci_runtime.fileio import write_text

MAX = "max"


class Setting:
    """One cgroup file to write.  ``where_supported``: a knob the runtime-spec
    calls deprecated, applied where this host has its file and otherwise skipped
    with a warning (as runc skips it), instead of the usual error."""

    __slots__ = ("path", "controller", "v1_file", "v1_value", "v2_file", "v2_value", "where_supported")

    def __init__(self, path, controller, v1_file, v1_value, v2_file=None, v2_value=None, where_supported=False):
        self.path = path
        self.controller = controller
        self.v1_file = v1_file
        self.v1_value = v1_value
        self.v2_file = v2_file
        self.v2_value = v2_value
        self.where_supported = where_supported


# ------------------------------------------------------------------ conversions

def shares_to_weight(shares):
    """cpu.shares [2, 262144] -> cpu.weight [1, 10000] (runc's formula)."""
    if shares == 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_to_io_weight(weight):
    """blkio.weight [10, 1000] -> io.weight [1, 10000] (runc's formula)."""
    if weight == 0:
        return 0
    return 1 + (weight - 10) * 9999 // 990


def _v1_limit(value):
    return "-1" if value == -1 else str(value)


def _v2_limit(value):
    return MAX if value == -1 else str(value)


def _device(entry):
    return f"{entry['major']}:{entry['minor']}"


# ------------------------------------------------------------------ per group

def _memory(memory):
    rows = []
    if memory.get("kernel") is not None:
        from oci_runtime import log

        log.warn("linux.resources.memory.kernel is deprecated in the runtime-spec and not applied "
                 "(the kernel no longer limits it separately)")
    if memory.get("kernelTCP") is not None:
        # runc 1.1 still writes it on cgroup v1; v2 has no such knob.
        rows.append(Setting("linux.resources.memory.kernelTCP", "memory", "memory.kmem.tcp.limit_in_bytes",
                            _v1_limit(memory["kernelTCP"]), where_supported=True))
    limit = memory.get("limit")
    if limit is not None:
        rows.append(Setting("linux.resources.memory.limit", "memory", "memory.limit_in_bytes",
                            _v1_limit(limit), "memory.max", _v2_limit(limit)))
    if memory.get("reservation") is not None:
        value = memory["reservation"]
        rows.append(Setting("linux.resources.memory.reservation", "memory",
                            "memory.soft_limit_in_bytes", _v1_limit(value), "memory.low", _v2_limit(value)))
    swap = memory.get("swap")
    if swap is not None:
        # v1 memsw is memory+swap; v2 swap.max is swap alone (runc's conversion).
        if swap == -1:
            v2 = MAX
        elif limit is None or limit == -1:
            raise OCIError("config.json: linux.resources.memory.swap: needs memory.limit to be set")
        else:
            if swap < limit:
                raise OCIError("config.json: linux.resources.memory.swap: must be >= memory.limit "
                               "(it is memory + swap)")
            v2 = str(swap - limit)
        rows.append(Setting("linux.resources.memory.swap", "memory", "memory.memsw.limit_in_bytes",
                            _v1_limit(swap), "memory.swap.max", v2))
    if memory.get("swappiness") is not None:
        rows.append(Setting("linux.resources.memory.swappiness", "memory", "memory.swappiness",
                            str(memory["swappiness"])))
    if memory.get("disableOOMKiller"):
        rows.append(Setting("linux.resources.memory.disableOOMKiller", "memory", "memory.oom_control", "1"))
    return rows


def _cpu(cpu):
    rows = []
    shares = cpu.get("shares")
    if shares:
        rows.append(Setting("linux.resources.cpu.shares", "cpu", "cpu.shares", str(shares),
                            "cpu.weight", str(shares_to_weight(shares))))
    quota, period = cpu.get("quota"), cpu.get("period")
    if quota is not None or period:
        v2_quota = MAX if quota in (None, -1, 0) else str(quota)
        v2 = f"{v2_quota} {period or 100000}"
        if period:
            rows.append(Setting("linux.resources.cpu.period", "cpu", "cpu.cfs_period_us", str(period),
                                "cpu.max", v2))
        if quota is not None:
            rows.append(Setting("linux.resources.cpu.quota", "cpu", "cpu.cfs_quota_us",
                                "-1" if quota in (0, -1) else str(quota), "cpu.max", v2))
    if cpu.get("burst") is not None:
        rows.append(Setting("linux.resources.cpu.burst", "cpu", "cpu.cfs_burst_us", str(cpu["burst"]),
                            "cpu.max.burst", str(cpu["burst"])))
    for key, v1 in (("realtimePeriod", "cpu.rt_period_us"), ("realtimeRuntime", "cpu.rt_runtime_us")):
        if cpu.get(key):
            rows.append(Setting(f"linux.resources.cpu.{key}", "cpu", v1, str(cpu[key])))
    if cpu.get("idle") is not None:
        rows.append(Setting("linux.resources.cpu.idle", "cpu", "cpu.idle", str(cpu["idle"]),
                            "cpu.idle", str(cpu["idle"])))
    for key, name in (("cpus", "cpuset.cpus"), ("mems", "cpuset.mems")):
        if cpu.get(key):
            rows.append(Setting(f"linux.resources.cpu.{key}", "cpuset", name, cpu[key], name, cpu[key]))
    return rows


def _block_io(blkio):
    rows = []
    if blkio.get("weight"):
        rows.append(Setting("linux.resources.blockIO.weight", "blkio", "blkio.weight", str(blkio["weight"]),
                            "io.weight", f"default {blkio_to_io_weight(blkio['weight'])}"))
    if blkio.get("leafWeight"):
        rows.append(Setting("linux.resources.blockIO.leafWeight", "blkio", "blkio.leaf_weight",
                            str(blkio["leafWeight"])))
    for i, entry in enumerate(blkio.get("weightDevice") or ()):
        if entry.get("weight") is not None:
            rows.append(Setting(f"linux.resources.blockIO.weightDevice[{i}]", "blkio", "blkio.weight_device",
                                f"{_device(entry)} {entry['weight']}", "io.weight",
                                f"{_device(entry)} {blkio_to_io_weight(entry['weight'])}"))
    for key, v1, v2 in (("throttleReadBpsDevice", "blkio.throttle.read_bps_device", "rbps"),
                        ("throttleWriteBpsDevice", "blkio.throttle.write_bps_device", "wbps"),
                        ("throttleReadIOPSDevice", "blkio.throttle.read_iops_device", "riops"),
                        ("throttleWriteIOPSDevice", "blkio.throttle.write_iops_device", "wiops")):
        for i, entry in enumerate(blkio.get(key) or ()):
            rows.append(Setting(f"linux.resources.blockIO.{key}[{i}]", "blkio", v1,
                                f"{_device(entry)} {entry['rate']}", "io.max",
                                f"{_device(entry)} {v2}={entry['rate']}"))
    return rows


def settings(resources):
    """Every cgroup write the resources ask for, in a safe order."""
    from oci_runtime.config import normalise_resources

    resources = normalise_resources(dict(resources))  # a copy: update's are partial
    rows = []
    rows += _memory(resources["memory"])
    rows += _cpu(resources["cpu"])
    pids = resources.get("pids")
    if pids is not None and "limit" in pids:
        limit = pids["limit"]
        value = MAX if limit < 0 else str(limit)
        rows.append(Setting("linux.resources.pids.limit", "pids", "pids.max", value, "pids.max", value))
    rows += _block_io(resources["blockIO"])
    for i, entry in enumerate(resources["hugepageLimits"]):
        size = entry["pageSize"]
        rows.append(Setting(f"linux.resources.hugepageLimits[{i}]", "hugetlb",
                            f"hugetlb.{size}.limit_in_bytes", str(entry["limit"]),
                            f"hugetlb.{size}.max", str(entry["limit"])))
    network = resources["network"]
    if network.get("classID") is not None:
        rows.append(Setting("linux.resources.network.classID", "net_cls", "net_cls.classid",
                            str(network["classID"])))
    for i, prio in enumerate(network.get("priorities") or ()):
        rows.append(Setting(f"linux.resources.network.priorities[{i}]", "net_prio", "net_prio.ifpriomap",
                            f"{prio['name']} {prio['priority']}"))
    for device, limits in resources["rdma"].items():
        parts = [f"{k}={v}" for k, v in (("hca_handle", limits.get("hcaHandles")),
                                          ("hca_object", limits.get("hcaObjects"))) if v is not None]
        value = f"{device} {' '.join(parts)}"
        rows.append(Setting(f"linux.resources.rdma.{device}", "rdma", "rdma.max", value, "rdma.max", value))
    for key, value in resources["unified"].items():
        rows.append(Setting(f"linux.resources.unified.{key}", key.split(".")[0], None, None, key, value))
    return rows


# ------------------------------------------------------------------ writing

def _target(cgroup, setting):
    """(directory, file, value) on this host, or an OCIError naming the field."""
    directory, version = cgroup.writable(setting.controller)
    if version == 1 and setting.v1_file:
        return directory, setting.v1_file, setting.v1_value
    if version == 2 and setting.v2_file:
        return directory, setting.v2_file, setting.v2_value
    if cgroup.left_out:
        raise cgroup.without_cgroup(f"{setting.path}: cannot set {setting.controller} limit: container could "
                                    "not join or create cgroup")
    raise OCIError(f"config.json: {setting.path}: the {setting.controller} controller is not "
                   "available on this host" + ("" if setting.v2_file else " (it is cgroup v1 only)"))


# Written only once the init exists (in create's parent, before any user code
# runs): a pids.max of 0 must stop the container from forking, not the runtime.
DEFERRED_CONTROLLERS = ("pids",)


def apply(cgroup, resources, deferred=False, swap_first=False):
    """Write every setting through ``cgroup`` (a driver: cgroups/__init__.py, Cgroup) --
    ``deferred``: only the DEFERRED_CONTROLLERS ones, else all but those; the
    first failure raises an error naming its field.  ``swap_first`` writes
    memory.swap before memory.limit (needed when lowering both on v1)."""
    rows = [row for row in settings(resources)
            if (row.controller in DEFERRED_CONTROLLERS) == deferred]
    if swap_first:
        rows.sort(key=lambda row: row.path != "linux.resources.memory.swap")
    rows = [row for row in rows if not row.where_supported or _supported_here(cgroup, row)]
    targets = [(row, _target(cgroup, row)) for row in rows]
    needed = {row.controller for row, _ in targets}
    if needed:
        try:
            cgroup.prepare_controllers(needed)
        except OSError as exc:
            raise OCIError(f"config.json: linux.resources: enabling {sorted(needed)} in the parent "
                           f"cgroups: {exc.strerror}") from None
    for row, (directory, name, value) in targets:
        _write(directory, name, value, row.path)


def _supported_here(cgroup, setting):
    directory, version = cgroup.writable(setting.controller)
    name = setting.v1_file if version == 1 else setting.v2_file if version == 2 else None
    if name and os.path.exists(os.path.join(directory, name)):
        return True
    from oci_runtime import log

    log.warn(f"{setting.path} is deprecated in the runtime-spec and this host's cgroups have no "
             f"{setting.v1_file if version != 2 else setting.v2_file or 'file for it'}: not applied")
    return False


def _write(directory, name, value, json_path):
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        raise OCIError(f"config.json: {json_path}: this host's cgroups have no {name}")
    try:
        write_text(path, value)
    except OSError as exc:
        raise OCIError(f"config.json: {json_path}: writing {value!r} to {name}: {exc.strerror}") from None
