"""Rootless: the runtime run by an ordinary user, or as root of a user namespace
that is not the host's (rootless podman runs its runtime that way).

Two facts decide everything rootless, and both are read here, host-side, before
anything is made:

  rootless_euid  the effective uid is not 0.  The kernel then lets us write a
                 new user namespace's id maps only for our own uid and gid (and
                 gid_map only after "deny" in setgroups); anything wider goes
                 through the setuid newuidmap/newgidmap, which check
                 /etc/subuid and /etc/subgid (process/id_maps.py).
  rootless       `--rootless auto|true|false` (runc's flag and rule): auto is
                 rootless_euid, or uid 0 inside a user namespace that is not
                 the initial one.  It says cgroups are optional: with no
                 linux.cgroupsPath a hierarchy we cannot write to is left out
                 instead of failing the create (cgroups/__init__.py, optional),
                 and device rules are not written (only real root may).

Nothing here grants anything: every operation is still the caller's own,
checked by the kernel; rootless only chooses not to ask for what the caller
could never be given.
"""
import os

from oci_runtime import lazyos
from oci_runtime.fileio import read_text

STATE_DIR_NAME = "oci-runtime"
SYSTEM_ROOT = "/run/" + STATE_DIR_NAME


_in_user_namespace = []


def running_in_user_namespace():
    """True unless this process is in the initial user namespace, whose uid_map is
    the identity over the whole 32-bit range (read once per process)."""
    if not _in_user_namespace:
        try:
            fields = read_text("/proc/self/uid_map").split()
        except OSError:
            fields = ["0", "0", "4294967295"]
        _in_user_namespace.append(fields != ["0", "0", "4294967295"])
    return _in_user_namespace[0]


def host_root():
    """Root of the initial user namespace: the caller holds every capability over
    the host's own namespaces (it can, say, setns back into its pid namespace)."""
    return not rootless_euid() and not running_in_user_namespace()


def rootless_euid():
    return os.geteuid() != 0


def detect(flag="auto"):
    """The --rootless flag ("true", "false", "auto"; runc's words) as a bool."""
    value = (flag or "auto").lower()
    if value in ("true", "1", "t"):
        return True
    if value in ("false", "0", "f"):
        return False
    if value != "auto":
        from oci_runtime.errors import UsageError

        raise UsageError(f"invalid value for --rootless: {flag} (use true, false or auto)")
    return rootless_euid() or running_in_user_namespace()


def default_root(environ=None):
    """Where state lives without --root: $XDG_RUNTIME_DIR/oci-runtime for a rootless
    caller that has a runtime directory (runc's rule: euid != 0, or uid 0 in a user
    namespace with USER other than root), /run/oci-runtime otherwise."""
    if environ is None:
        environ = lazyos.Environment  # os.environ's values, without importing os.py for them
    runtime_dir = environ.get("XDG_RUNTIME_DIR")
    if not runtime_dir:
        return SYSTEM_ROOT
    if rootless_euid():
        return os.path.join(runtime_dir, STATE_DIR_NAME)
    if not running_in_user_namespace():
        return SYSTEM_ROOT  # the real root keeps /run/oci-runtime, whatever XDG_RUNTIME_DIR says
    return os.path.join(runtime_dir, STATE_DIR_NAME) if environ.get("USER", "") != "root" else SYSTEM_ROOT
