"""Cgroups: one interface (driver.Cgroup), one driver per host layout.

  fs_v1   legacy and hybrid hosts: a directory in each cgroup v1 hierarchy; on
          a hybrid host also one in the cgroup2 hierarchy (runc joins it too),
          used for what no v1 hierarchy offers (hugetlb on this project's CI)
  fs_v2   a pure cgroup v2 ("unified") host
  (systemd: a driver to come, behind the same interface)

``for_container`` picks the driver from the host's layout (read once from
mountinfo: hosts.py) and resolves linux.cgroupsPath; ``of`` rebuilds the
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
DEFAULT_PARENT = "/oci-runtime"
DRIVERS = ("fs_v1", "fs_v2")


def for_container(cgroups_path, container_id):
    """The driver for a new container on this host, its directories resolved.

    An absolute cgroupsPath is taken relative to each hierarchy's root; a
    relative one is joined under the caller's own cgroup, as runc does; a
    missing one defaults to ``/oci-runtime/<id>``, a runtime-owned parent (never
    the caller's cgroup)."""
    from oci_runtime.cgroups import hosts

    layout = hosts.layout()
    return _driver(layout.driver)(layout.resolve(cgroups_path, container_id))


def of(paths, name=None):
    """The driver of an existing container: ``paths`` and ``name`` as its state recorded
    them (a state from before drivers were named has no name: fs_v2 recognises its own)."""
    if not name:
        from oci_runtime.cgroups import fs_v2

        name = "fs_v2" if fs_v2.recorded_by_it(paths) else "fs_v1"
    return _driver(name)(paths or {})


def _driver(name):
    if name not in DRIVERS:
        from oci_runtime.errors import OCIError

        raise OCIError(f"unknown cgroup driver {name!r} in the container's state")
    module = __import__(f"oci_runtime.cgroups.{name}", fromlist=["Driver"])
    return module.Driver
