"""The systemd driver for a rootless caller (`--systemd-cgroup` run by a user, or
by rootless podman): the container's scope is a unit of the user's own
`systemd --user`, reached over the user's session bus (or that manager's
private socket), in a slice below the manager's cgroup (user@UID.service),
which systemd delegates to the user.  Everything else is systemd.py's.

A separate driver (not a flag) because a container's state names its driver:
`update`, `pause` and `delete` must reach the same manager that made the scope,
whoever runs them later.
"""
from oci_runtime.cgroups import systemd


class Driver(systemd.Driver):
    name = "systemd_user"
    user = True


resolve = systemd.resolve_for_user
