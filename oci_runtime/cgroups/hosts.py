"""The host's cgroup layout, read from /proc/self/mountinfo (never assumed).

  unified  cgroup2 mounted at /sys/fs/cgroup                  -> fs_v2
  hybrid   v1 controllers under /sys/fs/cgroup/<name> plus
           cgroup2 at /sys/fs/cgroup/unified                  -> fs_v1 (joins both)
  legacy   v1 only                                            -> fs_v1

A hierarchy is named by its key: the cgroup2 one by V2_KEY, a v1 one by its
controllers ("cpu,cpuacct", "name=systemd").  The keys are the drivers'
business (fs_v1.py, fs_v2.py): nothing outside them reads one.
"""
import os

from oci_runtime.cgroups import V2_KEY


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
        from oci_runtime.cgroups import DEFAULT_PARENT

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


def layout():
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
