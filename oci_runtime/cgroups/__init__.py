"""Cgroups: one interface (Cgroup, below), one driver per host layout.

  fs_v1   legacy and hybrid hosts: a directory in each cgroup v1 hierarchy; on
          a hybrid host also one in the cgroup2 hierarchy (runc joins it too),
          used for what no v1 hierarchy offers (hugetlb on this project's CI)
  fs_v2   a pure cgroup v2 ("unified") host
  systemd a transient scope unit systemd makes and owns (`--systemd-cgroup`),
          then fs_v2's files; a pure cgroup v2 host for now (systemd.py);
          systemd_user the same in a rootless caller's own systemd --user

``for_container`` picks the driver from the host's layout (read once from
mountinfo: host_layout) and resolves linux.cgroupsPath; ``of`` rebuilds the
driver of an existing container from what its state recorded.  Everything
else -- create, exec, delete, pause, update, events, the rootfs's
/sys/fs/cgroup -- goes through the driver's methods and never asks which
layout it is on.  The driver's ``paths`` ({hierarchy key: directory}) and
``name`` are what the state records.

Around the drivers: resources.py turns linux.resources into per-controller
settings, stats.py reads runc's statistics, devices.py (and devices_bpf.py)
the device rules, parents.py the shared parent directories, warmup.py the
cgroup-migration head start.
"""
import errno
import os
import time

from oci_runtime.errors import OCIError
from oci_runtime.fileio import read_text, write_text

DEFAULT_PARENT = "/oci-runtime"
DRIVERS = ("fs_v1", "fs_v2", "systemd", "systemd_user")
V2_KEY = "unified"  # the cgroup2 hierarchy's key in a container's paths: the drivers' business
# A cgroup that is gone, or going: a directory being removed (systemd drops a scope
# the moment its last process exits) answers ENODEV to its files before it vanishes.
GONE = (errno.ENOENT, errno.ENODEV)


def for_container(cgroups_path, container_id, systemd=False, annotations=None, rootless=False):
    """The driver for a new container on this host, its directories resolved.

    An absolute cgroupsPath is taken relative to each hierarchy's root; a
    relative one is joined under the caller's own cgroup, as runc does; a
    missing one defaults to ``/oci-runtime/<id>``, a runtime-owned parent (never
    the caller's cgroup).  With ``systemd`` (`--systemd-cgroup`) it is
    ``slice:prefix:name`` and the cgroup is a systemd scope (systemd.py), with the
    unit properties of the config's ``org.systemd.property.*`` ``annotations``.

    ``rootless`` (rootless.py): without a cgroupsPath, a hierarchy the caller may
    not write to is left out (runc's rule; the container runs without a cgroup
    there), and device rules are never written.  A cgroupsPath given is a cgroup
    the caller was delegated: failing to make it stays an error (in the v1
    hierarchies of a hybrid host; its cgroup2 one is left out when not writable)."""
    layout = host_layout()
    if systemd:
        from oci_runtime.cgroups import systemd as systemd_driver

        if not systemd_driver.running():
            raise OCIError("systemd not running on this host, cannot use systemd as cgroups manager "
                           "(--systemd-cgroup: leave it out to use the cgroup files directly)")
        if layout.mode != "unified":
            raise OCIError(f"--systemd-cgroup: this host's cgroups are {layout.mode} (cgroup v1); the systemd "
                           "driver supports pure cgroup v2 hosts only for now: leave --systemd-cgroup out")
        properties = systemd_driver.annotation_properties(annotations)
        if rootless:  # the scope is the user's, in its own systemd --user (systemd_user.py)
            from oci_runtime.cgroups import systemd_user

            paths = systemd_user.resolve(cgroups_path, container_id, layout.hierarchies[V2_KEY])
            driver = systemd_user.Driver(paths, f"oci-runtime container {container_id}", properties)
            driver.rootless = True
            return driver
        paths = systemd_driver.resolve(cgroups_path, container_id, layout.hierarchies[V2_KEY])
        return systemd_driver.Driver(paths, f"oci-runtime container {container_id}", properties)
    driver = _driver(layout.driver)(layout.resolve(cgroups_path, container_id))
    if rootless:
        driver.rootless = True
        if not cgroups_path:
            driver.leave_out_unwritable(driver.paths)
        elif layout.mode == "hybrid":
            # The cgroup2 hierarchy beside v1 controllers holds nothing a limit needs
            # (runc leaves it alone rootless); a delegation covers the v1 ones.
            driver.leave_out_unwritable([V2_KEY])
    return driver


def of(paths, name=None, left_out=()):
    """The driver of an existing container: ``paths``, ``name`` and ``left_out`` as its
    state recorded them (a state from before drivers were named has no name: fs_v2
    recognises its own)."""
    if not name:
        from oci_runtime.cgroups import fs_v2

        name = "fs_v2" if fs_v2.recorded_by_it(paths) else "fs_v1"
    driver = _driver(name)(paths or {})
    driver.left_out = tuple(left_out or ())
    return driver


def _driver(name):
    if name not in DRIVERS:
        from oci_runtime.errors import OCIError

        raise OCIError(f"unknown cgroup driver {name!r} in the container's state")
    module = __import__(f"oci_runtime.cgroups.{name}", fromlist=["Driver"])
    return module.Driver


# ------------------------------------------------------------------ the host's layout
# Read from /proc/self/mountinfo (never assumed):
#   unified  cgroup2 mounted at /sys/fs/cgroup                  -> fs_v2
#   hybrid   v1 controllers under /sys/fs/cgroup/<name> plus
#            cgroup2 at /sys/fs/cgroup/unified                  -> fs_v1 (joins both)
#   legacy   v1 only                                            -> fs_v1
# A hierarchy is named by its key: the cgroup2 one by V2_KEY, a v1 one by its
# controllers ("cpu,cpuacct", "name=systemd").

def hierarchies():
    """{key: mountpoint} of the mounted cgroup hierarchies."""
    from oci_runtime import mountinfo

    found = {}
    for mount in mountinfo.read():
        if mount.fstype == "cgroup2":
            found.setdefault(V2_KEY, mount.mountpoint)
        elif mount.fstype == "cgroup":
            opts = [o for o in mount.super_options.split(",") if o not in ("rw", "ro") and "=" not in o
                    or o.startswith("name=")]
            key = ",".join(sorted(opts)) or mount.mountpoint
            found.setdefault(key, mount.mountpoint)
    return found


def v2_mountpoint():
    """Where the cgroup2 hierarchy is mounted, or None."""
    return hierarchies().get(V2_KEY)


class Layout:
    """This host's hierarchies and the driver that handles them."""

    def __init__(self, found):
        self.hierarchies = found
        v1 = [key for key in found if key != V2_KEY]
        self.mode = "unified" if not v1 else ("hybrid" if V2_KEY in found else "legacy")
        self.driver = "fs_v2" if self.mode == "unified" else "fs_v1"

    def resolve(self, cgroups_path, container_id):
        """{key: absolute directory} of the container in every hierarchy."""
        result = {}
        for key, mountpoint in self.hierarchies.items():
            if not cgroups_path:
                relative = f"{DEFAULT_PARENT}/{container_id}"
            elif cgroups_path.startswith("/"):
                relative = cgroups_path
            else:
                relative = f"{_own_cgroup(key).rstrip('/')}/{cgroups_path}"
            result[key] = os.path.normpath(mountpoint + "/" + relative.lstrip("/"))
        return result


_layout = []


def host_layout():
    """The host's Layout, read once per process."""
    if not _layout:
        _layout.append(Layout(hierarchies()))
    return _layout[0]


def _own_cgroup(key):
    """The caller's cgroup path in hierarchy ``key`` (from /proc/self/cgroup)."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _num, controllers, path = line.rstrip("\n").split(":", 2)
            if (key == V2_KEY and controllers == "") or (
                controllers and set(controllers.split(",")) == set(key.split(","))
            ):
                return path
    return "/"


# ------------------------------------------------------------------ the interface

class Cgroup:
    """One container's cgroups through one driver (see the module docstring)."""

    name = ""  # recorded in the state with the paths: cgroups.of(paths, name)
    rootless = False  # a rootless create's cgroup: no device rules (only real root may write them)
    left_out = ()  # hierarchies a rootless container has no cgroup in (recorded in its state)

    def __init__(self, paths):
        self.paths = dict(paths)

    def leave_out_unwritable(self, keys):
        """Rootless (for_container): drop each of ``keys`` where the caller
        could not make (or join) the container's directory -- the nearest existing
        one is not writable, or is on a read-only mount.  Asked once, host-side,
        before anything is made; a directory that still cannot be made later is an
        error like any other."""
        for key in list(keys):
            directory = self.paths.get(key)
            if directory is None:
                continue
            probe = directory
            while not os.path.isdir(probe):
                probe = os.path.dirname(probe)
            target = os.path.join(directory, "cgroup.procs") if probe == directory else probe
            if not os.access(target, os.W_OK):
                del self.paths[key]
                self.left_out += (key,)

    def without_cgroup(self, what):
        """The error for ``what`` (runc's phrase) on a container whose cgroup was left out."""
        return OCIError(f"{what} (created rootless without linux.cgroupsPath, and this user may not "
                        f"write to the default cgroup parent {DEFAULT_PARENT} in {', '.join(self.left_out)}: "
                        "give the container a linux.cgroupsPath under a cgroup delegated to this user)")

    # ------------------------------------------------------------ per driver

    def locate(self, controller):
        """(directory, cgroup version) where ``controller``'s files are, or (None, 0)."""
        raise NotImplementedError

    def prepare_controllers(self, controllers):
        """Make ``controllers`` usable in the container's directory (v2: enable them
        in the parents' subtree_control); raise OSError if the host refuses."""

    def set_frozen(self, frozen, timeout=10.0):
        """Freeze or thaw every task and wait until the kernel reports it done."""
        raise NotImplementedError

    def frozen_probe(self):
        """(file, content when frozen) that is_frozen() reads, or None: recorded in the
        state so that the status of a container is read without loading the driver."""
        raise NotImplementedError

    def oom_kills(self):
        """How many tasks the OOM killer killed in the container's cgroup (0 if unknown)."""
        raise NotImplementedError

    def apply_device_rules(self, rules):
        """Enforce linux.resources.devices (with the defaults added: devices.py)."""
        raise NotImplementedError

    def container_view(self):
        """What the container's /sys/fs/cgroup shows: ("cgroup2", directory) -- its own
        cgroup2 tree -- or ("v1", [(name, directory), ...]): a tmpfs with one bind per
        hierarchy (rootfs/mounts.py builds it)."""
        raise NotImplementedError

    # ------------------------------------------------------------ placement

    def missing(self):
        """The directories ``create()`` would make (recorded before making them, so a
        create killed half-way can be undone)."""
        result = []
        for directory in self.paths.values():
            probe = directory
            while not os.path.isdir(probe) and probe not in result:
                result.append(probe)
                probe = os.path.dirname(probe)
        return result

    def create(self, first_pid=0, resources=None):
        """mkdir -p every directory; returns the list of directories this call made.
        ``first_pid`` (the container's first process, not in it yet) and
        ``resources`` (linux.resources, written later by apply()) are for a
        driver whose manager needs them when it makes the cgroup (systemd)."""
        created = []
        for key, directory in self.paths.items():
            for attempt in range(50):
                try:
                    self._make_path(key, directory, created)
                    break
                except FileNotFoundError:
                    # A concurrent delete of a sibling container removed a shared parent
                    # it had made once that was empty: walk down from the top again.
                    if attempt == 49:
                        raise
        return created

    def _make_path(self, key, directory, created):
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

    def check_joinable(self):
        """An existing cgroup may be joined only if it is empty and not frozen (the spec
        lets a runtime refuse; sharing a cgroup with running processes would mix
        their limits, stats and kill --all with ours)."""
        directory = next(iter(self.paths.values()), "")
        pids = self.pids()
        if pids:  # runc's phrases first: engines match them
            raise OCIError(f"config.json: linux.cgroupsPath: container's cgroup is not empty: {len(pids)} "
                           f"process(es) found (cgroup {directory} already has processes: use another cgroup)")
        if self.is_frozen():
            raise OCIError("config.json: linux.cgroupsPath: container's cgroup unexpectedly frozen (the existing "
                           f"cgroup {directory} is frozen: thaw it or use another cgroup)")

    def within(self, subs):
        """This driver on existing sub-cgroups of the container's cgroups (exec
        --cgroup): ``subs`` maps a controller, or "" for every hierarchy, to a path
        relative to the container's cgroup.  A path leading out of it is refused
        (runc's "bad sub cgroup path"), as is one that does not exist."""
        paths = dict(self.paths)
        for controller, sub in subs.items():
            keys = list(paths) if not controller else [key for key in paths if key != V2_KEY
                                                       and controller in key.replace("name=", "").split(",")]
            if not keys:
                raise OCIError(f"--cgroup {controller}:{sub}: unknown controller {controller} in this container's "
                               "cgroups (on cgroup v2 give the path alone: --cgroup PATH)")
            for key in keys:
                base = self.paths[key]
                target = os.path.normpath(os.path.join(base, sub))
                if target != base and not target.startswith(base.rstrip("/") + "/"):
                    raise OCIError(f"--cgroup: bad sub cgroup path: {sub} (it leads out of the container's "
                                   "cgroup)")
                if not os.path.isdir(target):
                    raise OCIError(f"--cgroup: sub-cgroup {target} does not exist (exec joins an existing one: "
                                   "create it first)")
                paths[key] = target
        return type(self)(paths)

    def enter(self, pid):
        """Move ``pid`` (in the writer's pid namespace) into every directory."""
        for directory in self.paths.values():
            try:
                write_text(os.path.join(directory, "cgroup.procs"), str(pid))
            except OSError as exc:
                hint = (" (a v1 cpuset cgroup with empty cpuset.cpus or cpuset.mems takes no tasks)"
                        if exc.errno == errno.ENOSPC else "")
                raise OCIError(f"joining cgroup {directory}: {exc.strerror}{hint}") from None

    def pids(self):
        """Pids in the container's cgroup and its sub-cgroups (exec --cgroup makes
        processes there), from one hierarchy: all hold the same tasks."""
        for directory in self._pid_sources():
            try:
                found = [int(line) for line in read_text(os.path.join(directory, "cgroup.procs")).split()]
            except OSError as exc:
                if exc.errno not in GONE:
                    raise
                continue
            for sub in _sub_cgroups(directory):
                try:
                    found += [int(line) for line in read_text(os.path.join(sub, "cgroup.procs")).split()]
                except OSError as exc:
                    if exc.errno not in GONE:
                        raise
            return found
        return []

    def _pid_sources(self):
        return list(self.paths.values())

    def remove(self, timeout=5.0):
        """Remove the container's own directories (waiting briefly for exiting tasks).
        The parents it made go with cgroups.parents.remove_unused, under its lock."""
        deadline = time.monotonic() + timeout
        for directory in self.paths.values():
            for sub in reversed(_sub_cgroups(directory)):  # the deepest first
                _rmdir_retrying(sub, deadline)
            _rmdir_retrying(directory, deadline)

    # ------------------------------------------------------------ built on the above

    def is_frozen(self):
        probe = self.frozen_probe()
        try:
            return probe is not None and read_file(probe[0]) == probe[1]
        except OSError as exc:
            if exc.errno not in GONE:
                raise
            return False

    def apply(self, resources, deferred=False, swap_first=False):
        """linux.resources (or an update of it) written to the cgroup files: resources.py."""
        from oci_runtime.cgroups import resources as resources_mod

        resources_mod.apply(self, resources, deferred, swap_first)

    def stats(self):
        """runc's `events --stats` data: stats.py."""
        from oci_runtime.cgroups import stats

        return stats.collect(self)


def _sub_cgroups(directory):
    """Every cgroup below ``directory``, parents before their children.  A cgroup
    directory's link count is 2 plus its sub-cgroups (kernfs, v1 and v2): one
    stat answers the common case, no sub-cgroup, without listing its files."""
    found = []
    try:
        if os.stat(directory).st_nlink <= 2:
            return found
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            found.append(entry.path)
            found += _sub_cgroups(entry.path)
    return found


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


def oom_kill_count(path):
    """The oom_kill counter of memory.oom_control (v1) or memory.events (v2), 0 if unknown."""
    try:
        with open(path) as f:
            for line in f:
                field, _, value = line.partition(" ")
                if field == "oom_kill":
                    return int(value)
    except (FileNotFoundError, ValueError):
        pass
    return 0


def read_file(path):
    return read_text(path).strip()


def write_and_wait(path, value, finished, timeout):
    """Write ``value`` until ``finished()`` (the freezers report asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        write_text(path, value)
        if finished():
            return
        if time.monotonic() > deadline:
            raise OCIError(f"timed out waiting for {path} to become {value}")
        time.sleep(0.001)
