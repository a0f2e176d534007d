"""`oci-runtime delete [--force] <id>`: remove a container and all it holds.

A stopped or created container is removed (a created one is killed first, as
runc does); a running or paused one only with --force, which kills every
process in its cgroup first.  With --force a missing container is not an
error, so engines can clean up idempotently.

containerd's shim runs `delete --force` once more after every delete: when the
state directory is not there at all, that is answered before the delete
machinery (cgroup drivers, the parents registry, kill) is even loaded.
"""
import os

from oci_runtime.state import container_dir


def main(g, opts, args):
    force = bool(opts["force"])
    if force and _missing(container_dir(g["root"], args[0])):
        return 0  # what lifecycle.delete would conclude, without loading it
    from oci_runtime.lifecycle.delete import delete

    delete(g["root"], args[0], force=force)
    return 0


def _missing(directory):
    """Only "no such file" counts: a root the caller may not search (another user's,
    0700) goes the full way, which reports the permission error."""
    try:
        os.lstat(directory)
    except FileNotFoundError:
        return True
    except OSError:
        pass
    return False
