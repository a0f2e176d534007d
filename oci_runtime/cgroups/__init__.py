"""Placing a container in its cgroups, and removing them on delete.

Host modes (detected from /proc/self/mountinfo, never assumed):
  unified  cgroup2 mounted at /sys/fs/cgroup
  hybrid   v1 controllers under /sys/fs/cgroup/<name> plus cgroup2 at
           /sys/fs/cgroup/unified (joined too, as runc does)
  legacy   v1 only

The container's cgroup is ``linux.cgroupsPath``: an absolute path is taken
relative to each hierarchy's root; a relative one is joined under the
caller's own cgroup, as runc does; a missing one defaults to
``/oci-runtime/<id>``, a runtime-owned parent (never the caller's cgroup).
Applying ``linux.resources`` belongs to the cgroups work (see issue tracker);
this module only creates, joins, lists, freezes-status and removes.
"""
import errno
import os
import time

DEFAULT_PARENT = "/oci-runtime"


def hierarchies():
    """{key: mountpoint} of mounted cgroup hierarchies; key is "unified" for cgroup2."""
    from oci_runtime import mountinfo

    found = {}
    for mount in mountinfo.read():
        if mount.fstype == "cgroup2":
            found.setdefault("unified", mount.mountpoint)
        elif mount.fstype == "cgroup":
            opts = [o for o in mount.super_options.split(",") if o not in ("rw", "ro") and "=" not in o
                    or o.startswith("name=")]
            key = ",".join(sorted(opts)) or mount.mountpoint
            found.setdefault(key, mount.mountpoint)
    return found


def mode(found=None):
    found = hierarchies() if found is None else found
    v1 = [k for k in found if k != "unified"]
    if not v1:
        return "unified"
    return "hybrid" if "unified" in found else "legacy"


def _own_cgroup(key):
    """The caller's cgroup path in hierarchy ``key`` (from /proc/self/cgroup)."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _num, controllers, path = line.rstrip("\n").split(":", 2)
            if (key == "unified" and controllers == "") or (
                controllers and set(controllers.split(",")) == set(key.split(","))
            ):
                return path
    return "/"


def resolve(cgroups_path, container_id):
    """{hierarchy key: absolute directory} for the container."""
    found = hierarchies()
    result = {}
    for key, mountpoint in found.items():
        if not cgroups_path:
            relative = f"{DEFAULT_PARENT}/{container_id}"
        elif cgroups_path.startswith("/"):
            relative = cgroups_path
        else:
            relative = f"{_own_cgroup(key).rstrip('/')}/{cgroups_path}"
        result[key] = os.path.normpath(mountpoint + "/" + relative.lstrip("/"))
    return result


def _copy_cpuset_from_parent(directory):
    """A new v1 cpuset cgroup starts empty and refuses tasks until cpus/mems are set."""
    for name in ("cpuset.cpus", "cpuset.mems"):
        own = os.path.join(directory, name)
        with open(own) as f:
            if f.read().strip():
                continue
        with open(os.path.join(os.path.dirname(directory), name)) as f:
            value = f.read().strip()
        with open(own, "w") as f:
            f.write(value)


def create(paths):
    """mkdir -p every directory; returns the list of dirs this call created.
    On a pure v2 host every available controller is enabled down to the
    container's parent (as runc does), so limits, stats and freezing work."""
    created = []
    if list(paths) == ["unified"]:
        from oci_runtime.cgroups.resources import enable_controllers, unified_controllers

        _mkdir_parents_then(paths["unified"], created)
        enable_controllers(paths["unified"], unified_controllers(paths["unified"]))
    for key, directory in paths.items():
        for attempt in range(50):
            try:
                _make_path(key, directory, created)
                break
            except FileNotFoundError:
                # A concurrent delete of a sibling container removed a shared parent
                # it had created once that was empty: walk down from the top again.
                if attempt == 49:
                    raise
    return created


def _make_path(key, directory, created):
    missing = []
    probe = directory
    while not os.path.isdir(probe):
        missing.append(probe)
        probe = os.path.dirname(probe)
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            continue
        created.append(path)
        if "cpuset" in key.split(","):
            _copy_cpuset_from_parent(path)


def missing(paths):
    """The directories ``create(paths)`` would make (recorded before making them,
    so a create killed half-way can be undone)."""
    result = []
    for directory in paths.values():
        probe = directory
        while not os.path.isdir(probe) and probe not in result:
            result.append(probe)
            probe = os.path.dirname(probe)
    return result


def oom_kills(paths):
    """How many tasks the OOM killer killed in the container's memory cgroup (0 if unknown)."""
    for key, directory in paths.items():
        name = "memory.events" if key == "unified" else "memory.oom_control"
        if key != "unified" and "memory" not in key.split(","):
            continue
        try:
            with open(os.path.join(directory, name)) as f:
                for line in f:
                    field, _, value = line.partition(" ")
                    if field == "oom_kill" and int(value) > 0:
                        return int(value)
        except (FileNotFoundError, ValueError):
            continue
    return 0


def check_joinable(paths):
    """An existing cgroup may be joined only if it is empty and not frozen (the spec
    lets a runtime refuse; sharing a cgroup with running processes would mix
    their limits, stats and kill --all with ours)."""
    from oci_runtime.errors import OCIError

    if pids(paths):
        directory = next(iter(paths.values()))
        raise OCIError(f"config.json: linux.cgroupsPath: cgroup {directory} already has processes")
    if is_frozen(paths):
        raise OCIError("config.json: linux.cgroupsPath: the existing cgroup is frozen")


def _mkdir_parents_then(directory, created):
    """Create the missing ancestors of ``directory`` (not itself), recording them."""
    missing = []
    probe = os.path.dirname(directory)
    while not os.path.isdir(probe):
        missing.append(probe)
        probe = os.path.dirname(probe)
    for path in reversed(missing):
        os.mkdir(path, 0o755)
        created.append(path)


def attach(paths, pid):
    for directory in paths.values():
        with open(os.path.join(directory, "cgroup.procs"), "w") as f:
            f.write(str(pid))


def pids(paths):
    """Pids in the container's cgroup (from one hierarchy: all hold the same tasks)."""
    for key in sorted(paths, key=lambda k: (k == "unified", k)):
        try:
            with open(os.path.join(paths[key], "cgroup.procs")) as f:
                return [int(line) for line in f.read().split()]
        except FileNotFoundError:
            continue
    return []


def is_frozen(paths):
    for key, directory in paths.items():
        try:
            if key == "unified":
                with open(os.path.join(directory, "cgroup.freeze")) as f:
                    if f.read().strip() == "1":
                        return True
            elif "freezer" in key.split(","):
                with open(os.path.join(directory, "freezer.state")) as f:
                    if f.read().strip() == "FROZEN":
                        return True
        except FileNotFoundError:
            continue
    return False


def remove(paths, timeout=5.0):
    """Remove the container's own cgroups (waiting briefly for exiting tasks).  The
    parents it made go with cgroups.parents.remove_unused, under its lock."""
    deadline = time.monotonic() + timeout
    for directory in paths.values():
        _rmdir_retrying(directory, deadline)


def _rmdir_retrying(directory, deadline):
    while True:
        try:
            os.rmdir(directory)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno not in (errno.EBUSY, errno.ENOTEMPTY) or time.monotonic() > deadline:
                raise OSError(exc.errno, f"remove cgroup: {exc.strerror}", directory) from None
            time.sleep(0.005)


def set_frozen(paths, frozen, timeout=10.0):
    """Freeze or thaw every task (v1 freezer, or v2 cgroup.freeze) and wait until
    the kernel reports it done; an error if neither interface exists."""
    done = False
    for key, directory in paths.items():
        if key != "unified" and "freezer" in key.split(","):
            _write_and_wait(os.path.join(directory, "freezer.state"),
                            "FROZEN" if frozen else "THAWED",
                            lambda: _read(os.path.join(directory, "freezer.state")) ==  # noqa: B023 (called at once)
                            ("FROZEN" if frozen else "THAWED"), timeout)
            done = True
    unified = paths.get("unified")
    if not done and unified and os.path.exists(os.path.join(unified, "cgroup.freeze")):
        want = "frozen 1" if frozen else "frozen 0"
        _write_and_wait(os.path.join(unified, "cgroup.freeze"), "1" if frozen else "0",
                        lambda: want in _read(os.path.join(unified, "cgroup.events")).splitlines(), timeout)
        done = True
    if not done:
        from oci_runtime.errors import OCIError

        raise OCIError("no freezer cgroup for this container (neither v1 freezer nor cgroup.freeze)")


def _read(path):
    with open(path) as f:
        return f.read().strip()


def _write_and_wait(path, value, finished, timeout):
    deadline = time.monotonic() + timeout
    while True:
        with open(path, "w") as f:
            f.write(value)
        if finished():
            return
        if time.monotonic() > deadline:
            from oci_runtime.errors import OCIError

            raise OCIError(f"timed out waiting for {path} to become {value}")
        time.sleep(0.001)
