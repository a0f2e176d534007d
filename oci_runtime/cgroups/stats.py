"""Container statistics in runc's `events --stats` format, read from the cgroup files.

The layout and the JSON names are runc's (its types.Stats: cpu, cpuset, memory,
pids, blkio, hugetlb, intel_rdt, network_interfaces), including which fields
are left out when zero ("omitempty" there), because scripts written against
runc read them.  v1 and v2 files are mapped onto the same fields, as runc does;
the container's cgroup driver says where each controller's files are and in
which version (``cgroup.locate``).
"""
import os

UNLIMITED = (1 << 64) - 1  # runc's value for a v2 "max" memory limit


def _read(directory, name):
    if not directory:
        return None
    try:
        with open(os.path.join(directory, name)) as f:
            return f.read()
    except OSError:
        return None


def _int(text, default=0):
    try:
        return int(text.strip())
    except (AttributeError, ValueError):
        return default


def _keyed(text):
    result = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            result[parts[0]] = int(parts[1])
    return result


def _nonzero(**fields):
    """runc's omitempty: a zero (or empty) field is left out."""
    return {key: value for key, value in fields.items() if value}


def _id_list(text):
    """"0-2,5" -> [0, 1, 2, 5] (cpuset lists)."""
    ids = []
    for part in (text or "").strip().split(","):
        if "-" in part:
            first, last = part.split("-", 1)
            ids.extend(range(int(first), int(last) + 1))
        elif part.isdigit():
            ids.append(int(part))
    return ids


def cpu(cgroup):
    directory, version = cgroup.locate("cpuacct")
    if version == 1 and directory:
        ticks = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
        stat = _keyed(_read(directory, "cpuacct.stat"))
        usage = _nonzero(total=_int(_read(directory, "cpuacct.usage")),
                         percpu=[int(x) for x in (_read(directory, "cpuacct.usage_percpu") or "").split()],
                         percpu_kernel=[int(x) for x in (_read(directory, "cpuacct.usage_percpu_sys") or "").split()],
                         percpu_user=[int(x) for x in (_read(directory, "cpuacct.usage_percpu_user") or "").split()])
        usage.update(kernel=stat.get("system", 0) * ticks, user=stat.get("user", 0) * ticks)
        throttle_dir, _ = cgroup.locate("cpu")
        stat = _keyed(_read(throttle_dir, "cpu.stat"))
        throttled_time = stat.get("throttled_time", 0)
    else:
        stat = _keyed(_read(directory, "cpu.stat"))
        usage = _nonzero(total=stat.get("usage_usec", 0) * 1000)
        usage.update(kernel=stat.get("system_usec", 0) * 1000, user=stat.get("user_usec", 0) * 1000)
        throttled_time = stat.get("throttled_usec", 0) * 1000
    return {"usage": usage,
            "throttling": _nonzero(periods=stat.get("nr_periods", 0), throttledPeriods=stat.get("nr_throttled", 0),
                                   throttledTime=throttled_time)}


CPUSET_FLAGS = ("cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
                "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level")


def cpuset(cgroup):
    """runc's CPUSetStats.  On cgroup v2 runc (1.1 and current) reads no cpuset
    file: every field 0, cpus and mems left out; so here."""
    directory, version = cgroup.locate("cpuset")
    result = {}
    for flag in CPUSET_FLAGS:  # in runc's field order; v1 only: runc reports 0 where there is no such file
        if flag in ("cpu_exclusive", "mem_hardwall") and version == 1:  # cpus, mems (omitempty) come first
            ids = _id_list(_read(directory, "cpuset.cpus" if flag == "cpu_exclusive" else "cpuset.mems"))
            result.update(_nonzero(**{"cpus" if flag == "cpu_exclusive" else "mems": ids}))
        result[flag] = _int(_read(directory, f"cpuset.{flag}")) if version == 1 else 0
    return result


def _memory_entry(directory, prefix):
    """runc's MemoryEntry: limit and failcnt always, usage and max when not zero."""
    entry = {"limit": _int(_read(directory, f"{prefix}.limit_in_bytes"))}
    entry.update(_nonzero(usage=_int(_read(directory, f"{prefix}.usage_in_bytes")),
                          max=_int(_read(directory, f"{prefix}.max_usage_in_bytes"))))
    entry["failcnt"] = _int(_read(directory, f"{prefix}.failcnt"))
    return entry


def _v2_limit(text, unlimited=UNLIMITED):
    text = (text or "").strip()
    return unlimited if text in ("max", "") else _int(text)


def memory(cgroup):
    directory, version = cgroup.locate("memory")
    raw = _keyed(_read(directory, "memory.stat"))
    if version == 1:
        result = _nonzero(cache=raw.get("cache", 0))
        result.update(usage=_memory_entry(directory, "memory"), swap=_memory_entry(directory, "memory.memsw"),
                      kernel=_memory_entry(directory, "memory.kmem"),
                      kernelTCP=_memory_entry(directory, "memory.kmem.tcp"))
    else:
        current, limit = _int(_read(directory, "memory.current")), _v2_limit(_read(directory, "memory.max"))
        usage = {"limit": limit}
        usage.update(_nonzero(usage=current, max=_int(_read(directory, "memory.peak"))))
        usage["failcnt"] = _keyed(_read(directory, "memory.events")).get("max", 0)
        # v1's memsw counts memory + swap; runc reports v2's the same way.
        swap_limit = _v2_limit(_read(directory, "memory.swap.max"))
        swap = {"limit": UNLIMITED if UNLIMITED in (limit, swap_limit) else limit + swap_limit}
        swap.update(_nonzero(usage=current + _int(_read(directory, "memory.swap.current"))))
        swap["failcnt"] = 0
        result = _nonzero(cache=raw.get("file", 0))
        result.update(usage=usage, swap=swap, kernel={"limit": 0, "failcnt": 0},
                      kernelTCP={"limit": 0, "failcnt": 0})
    if raw:
        result["raw"] = dict(sorted(raw.items()))  # a Go map: runc prints its keys sorted
    return result


def pids(cgroup):
    directory, _ = cgroup.locate("pids")
    return _nonzero(current=_int(_read(directory, "pids.current")),
                    limit=_v2_limit(_read(directory, "pids.max"), unlimited=0))


def _blkio_entries(text):
    """v1 blkio lines "MAJ:MIN Op Value" (the "Total" line left out)."""
    entries = []
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            major, minor = parts[0].split(":", 1)
            entries.append(_nonzero(major=int(major), minor=int(minor), op=parts[1], value=int(parts[2])))
    return entries


def blkio(cgroup):
    directory, version = cgroup.locate("blkio")
    if version == 1:
        result = {}
        for field, name in (("ioServiceBytesRecursive", "io_service_bytes_recursive"),
                            ("ioServicedRecursive", "io_serviced_recursive")):
            entries = _blkio_entries(_read(directory, f"blkio.{name}")) \
                or _blkio_entries(_read(directory, f"blkio.throttle.{name}"))
            if entries:
                result[field] = entries
        return result
    served_bytes, served = [], []
    for line in (_read(directory, "io.stat") or "").splitlines():
        device, _, fields = line.partition(" ")
        if ":" not in device:
            continue
        major, minor = (int(x) for x in device.split(":", 1))
        counts = dict(item.split("=", 1) for item in fields.split() if "=" in item)
        for op, key, target in (("Read", "rbytes", served_bytes), ("Write", "wbytes", served_bytes),
                                ("Read", "rios", served), ("Write", "wios", served)):
            target.append(_nonzero(major=major, minor=minor, op=op, value=_int(counts.get(key))))
    return _nonzero(ioServiceBytesRecursive=served_bytes, ioServicedRecursive=served)


def _page_sizes():
    """hugetlb page sizes as the cgroup files name them: "2MB", "1GB"."""
    try:
        names = sorted(os.listdir("/sys/kernel/mm/hugepages"))
    except OSError:
        return []
    sizes = []
    for name in names:  # "hugepages-2048kB"
        kib = _int(name[len("hugepages-"):-len("kB")], 0)
        unit, scale = next(((u, k) for u, k in (("GB", 1 << 20), ("MB", 1 << 10)) if kib % k == 0), ("KB", 1))
        if kib:
            sizes.append(f"{kib // scale}{unit}")
    return sizes


def hugetlb(cgroup):
    """{page size: usage, max, failcnt} for each size whose files the cgroup has."""
    directory, version = cgroup.locate("hugetlb")
    result = {}
    for size in _page_sizes():
        usage = _read(directory, f"hugetlb.{size}.usage_in_bytes" if version == 1 else f"hugetlb.{size}.current")
        if usage is None:
            continue
        if version == 1:
            entry = _nonzero(usage=_int(usage), max=_int(_read(directory, f"hugetlb.{size}.max_usage_in_bytes")))
            entry["failcnt"] = _int(_read(directory, f"hugetlb.{size}.failcnt"))
        else:
            entry = _nonzero(usage=_int(usage))
            entry["failcnt"] = _keyed(_read(directory, f"hugetlb.{size}.events")).get("max", 0)
        result[size] = entry
    return dict(sorted(result.items()))  # a Go map: keys sorted


def collect(cgroup):
    return {"cpu": cpu(cgroup), "cpuset": cpuset(cgroup), "memory": memory(cgroup), "pids": pids(cgroup),
            "blkio": blkio(cgroup), "hugetlb": hugetlb(cgroup), "intel_rdt": {}, "network_interfaces": None}
