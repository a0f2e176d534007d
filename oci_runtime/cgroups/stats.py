"""Container statistics in runc's `events` format, read from the cgroup files."""
import os


def _read(directory, name):
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


def _controller_dir(paths, controller):
    for key, directory in paths.items():
        if key != "unified" and controller in key.split(","):
            return directory, 1
    return paths.get("unified"), 2


def cpu(paths):
    directory, version = _controller_dir(paths, "cpuacct")
    if version == 1 and directory:
        percpu = [int(x) for x in (_read(directory, "cpuacct.usage_percpu") or "").split()]
        stat = _keyed(_read(directory, "cpuacct.stat"))
        ticks = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
        usage = {"total": _int(_read(directory, "cpuacct.usage")), "percpu_usage": percpu,
                 "usage_in_kernelmode": stat.get("system", 0) * ticks,
                 "usage_in_usermode": stat.get("user", 0) * ticks}
        throttle_dir, _ = _controller_dir(paths, "cpu")
        throttled = _keyed(_read(throttle_dir, "cpu.stat"))
    else:
        stat = _keyed(_read(directory, "cpu.stat"))
        usage = {"total": stat.get("usage_usec", 0) * 1000,
                 "usage_in_kernelmode": stat.get("system_usec", 0) * 1000,
                 "usage_in_usermode": stat.get("user_usec", 0) * 1000}
        throttled = dict(stat, throttled_time=stat.get("throttled_usec", 0) * 1000)
    return {"usage": usage, "throttling": {"periods": throttled.get("nr_periods", 0),
                                           "throttled_periods": throttled.get("nr_throttled", 0),
                                           "throttled_time": throttled.get("throttled_time", 0)}}


def memory(paths):
    directory, version = _controller_dir(paths, "memory")
    if version == 1:
        def entry(prefix):
            return {"usage": _int(_read(directory, f"{prefix}.usage_in_bytes")),
                    "max": _int(_read(directory, f"{prefix}.max_usage_in_bytes")),
                    "limit": _int(_read(directory, f"{prefix}.limit_in_bytes")),
                    "failcnt": _int(_read(directory, f"{prefix}.failcnt"))}
        return {"usage": entry("memory"), "swap": entry("memory.memsw"),
                "raw": _keyed(_read(directory, "memory.stat"))}
    limit = (_read(directory, "memory.max") or "").strip()
    return {"usage": {"usage": _int(_read(directory, "memory.current")),
                      "max": _int(_read(directory, "memory.peak")),
                      "limit": 0 if limit in ("max", "") else int(limit), "failcnt": 0},
            "swap": {"usage": _int(_read(directory, "memory.swap.current"))},
            "raw": _keyed(_read(directory, "memory.stat"))}


def pids(paths):
    directory, _ = _controller_dir(paths, "pids")
    limit = (_read(directory, "pids.max") or "").strip()
    return {"current": _int(_read(directory, "pids.current")),
            "limit": 0 if limit in ("max", "") else int(limit)}


def oom_kills(paths):
    """How many tasks the kernel OOM-killed in this cgroup so far."""
    directory, version = _controller_dir(paths, "memory")
    name = "memory.oom_control" if version == 1 else "memory.events"
    return _keyed(_read(directory, name)).get("oom_kill", 0)


def collect(paths):
    return {"cpu": cpu(paths), "memory": memory(paths), "pids": pids(paths)}
