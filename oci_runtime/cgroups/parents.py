"""Shared cgroup parents: made by one container, removed by the last one out.

With ``cgroupsPath: /pod/a`` and ``/pod/b`` the first create makes ``/pod``;
if that container is deleted first, ``/pod`` still holds ``b`` and stays.
So parents this runtime made are listed in ``<root>/cgroup-parents.json``,
and every delete tries to remove the listed ancestors of its own cgroup once
they are empty.  Making a container's cgroup and removing a parent both hold
an flock on the --root directory itself, so a delete can never remove a
parent between a create's check that it exists and its mkdir inside it.
The file is removed when the list is empty, so --root holds no extra entry.
"""
import fcntl
from oci_runtime import fastjson as json  # json without its re/enum imports
import os

REGISTRY = "cgroup-parents.json"


class RootLock:
    """Exclusive flock on the --root directory (no file of its own)."""

    def __init__(self, root):
        os.makedirs(root, mode=0o711, exist_ok=True)
        self.fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        self.root = root

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def _load(root):
    try:
        with open(os.path.join(root, REGISTRY)) as f:
            return set(json.load(f))
    except (FileNotFoundError, ValueError):
        return set()


def _store(root, parents):
    from oci_runtime.state import write_json_atomic

    path = os.path.join(root, REGISTRY)
    if parents:
        write_json_atomic(path, sorted(parents))
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def register(root, created, own_paths):
    """Remember the parents among ``created`` (called with the RootLock held)."""
    parents = set(created) - set(own_paths.values())
    if parents:
        _store(root, _load(root) | parents)


def remove_unused(root, own_paths):
    """Remove every listed ancestor of ``own_paths`` that is now empty, deepest first."""
    with RootLock(root):
        listed = _load(root)
        if not listed:
            return
        mine = [p for p in listed if any(d.startswith(p + "/") for d in own_paths.values())]
        for parent in sorted(mine, key=len, reverse=True):
            try:
                os.rmdir(parent)
            except FileNotFoundError:
                pass
            except OSError:
                continue  # another container still lives below it
            listed.discard(parent)
        _store(root, listed)
