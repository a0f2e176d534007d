"""Shared cgroup parents: made by one container, removed by the last one out.

With ``cgroupsPath: /pod/a`` and ``/pod/b`` the first create makes ``/pod``;
if that container is deleted first, ``/pod`` still holds ``b`` and stays.
So the parents this runtime made are listed, and every delete tries to remove
the listed ancestors of its own cgroup once they are empty; a parent that
existed before (the caller's) is never listed, so never removed.

Cgroups belong to the host, not to one --root: the containers under /pod may
be two --roots' (two engines, or one engine's two namespaces).  So the list is
host-wide, ``/run/oci-runtime/cgroup-parents.json`` (under a rootless
caller's --root instead, where /run is not writable), and making a
container's cgroup and removing a parent both hold an flock on that
directory: a delete can never remove a parent between a create's check that
it exists and its mkdir inside it, whatever --root either uses.  The file is
removed when the list is empty.
"""
import fcntl
from oci_runtime import fastjson as json  # json without its re/enum imports
import os

from oci_runtime.fileio import read_bytes

REGISTRY = "cgroup-parents.json"
HOST_DIR = "/run/oci-runtime"


def registry_dir(root):
    """The host's root keeps one list; a rootless caller (also root of a user
    namespace: rootless podman) keeps it under its own --root."""
    from oci_runtime import rootless

    return HOST_DIR if rootless.host_root() else root


class RootLock:
    """Exclusive flock on the registry's directory (no file of its own)."""

    def __init__(self, root):
        self.root = registry_dir(root)
        try:
            self.fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:  # the first time only (makedirs is os.py's: lazyos.py)
            os.makedirs(self.root, mode=0o711, exist_ok=True)
            self.fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def _load(directory):
    """The listed parents.  A temporary file a killed writer left beside the list
    changes nothing here (the list is replaced whole): _sweep removes them."""
    try:
        listed = json.loads(read_bytes(os.path.join(directory, REGISTRY)))
    except (FileNotFoundError, ValueError):
        return set()
    return {p for p in listed if isinstance(p, str)} if isinstance(listed, list) else set()


def _existing(parents):
    """The listed parents that still exist: one removed by someone else, or listed by
    a create killed before it made it, is dropped (whoever writes holds the lock,
    so no create is between its listing and its mkdir)."""
    return {p for p in parents if os.path.isdir(p)}


def _sweep(directory):
    """Temporaries of a writer killed between link and rename (we hold the lock)."""
    from oci_runtime import atomicfile

    atomicfile.sweep(directory, REGISTRY)


def _store(directory, parents):
    from oci_runtime import atomicfile

    path = os.path.join(directory, REGISTRY)
    if parents:
        atomicfile.replace(path, json.dumps(sorted(parents)).encode())
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def register(held, dirs, own_paths):
    """List the parents among ``dirs`` (``held``: the RootLock).  create calls it
    twice under one hold: with the parents it is *about* to make, so a create
    killed in between leaves a listed parent that does not exist (the next write
    drops it), never one that exists unlisted and would outlive every container;
    and with those it did make (a parent someone else removed meanwhile is made
    again, and must be listed too)."""
    parents = set(dirs) - set(own_paths.values())
    if not parents:
        return
    listed = _load(held.root)
    if not parents <= listed:
        _sweep(held.root)
        _store(held.root, _existing(listed) | parents)


def remove_unused(root, own_paths, created=()):
    """Remove every listed ancestor of ``own_paths``, and every parent the container
    recorded as made by its create (``created``), that is now empty, deepest first.
    Only here, under the lock: a parent removed without it could vanish between
    another create's check that it exists and its mkdir inside it, and be made
    again by that create unlisted (the kill soak found this)."""
    own = set(own_paths.values())
    with RootLock(root) as held:
        listed = _load(held.root)
        mine = {p for p in listed if any(d.startswith(p + "/") for d in own)}
        mine |= {p for p in created if p not in own and any(d.startswith(p + "/") for d in own)}
        if not mine:
            return
        for parent in sorted(mine, key=len, reverse=True):
            try:
                os.rmdir(parent)
            except OSError:
                pass  # another container still lives below it (gone already: dropped below)
        _sweep(held.root)
        still = _existing(listed)
        if still != listed:  # a parent shared with a live container stays listed: no rewrite
            _store(held.root, still)
