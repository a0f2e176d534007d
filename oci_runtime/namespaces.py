"""Namespaces from linux.namespaces: which to create, which to join, checked up front.

A namespace with a ``path`` is joined with setns(2) after checking, before
anything is created, that the file really is a namespace of that type
(ioctl NS_GET_NSTYPE), so `create` fails cleanly on a wrong or stale path.
"""
import fcntl
import os

from oci_runtime.errors import ConfigError

FLAGS = {
    "mount": 0x00020000,
    "cgroup": 0x02000000,
    "uts": 0x04000000,
    "ipc": 0x08000000,
    "user": 0x10000000,
    "pid": 0x20000000,
    "network": 0x40000000,
    "time": 0x00000080,
}
NS_GET_NSTYPE = 0xB703
PROC_NAMES = {"mount": "mnt", "cgroup": "cgroup", "uts": "uts", "ipc": "ipc", "user": "user",
              "pid": "pid", "network": "net", "time": "time"}

# setns order: user first (it grants the rights for the others), mount last
# (after it, host paths are no longer visible).
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


def plan(config):
    """Returns (flags to unshare, [(type, path)] to join in JOIN_ORDER, set of types)."""
    entries = config["linux"]["namespaces"]
    new_flags = 0
    joins = {}
    for i, ns in enumerate(entries):
        kind = ns["type"]
        path = ns.get("path")
        if path:
            check_path(kind, path, f"linux.namespaces[{i}].path")
            joins[kind] = path
        else:
            new_flags |= FLAGS[kind]
    ordered = [(k, joins[k]) for k in JOIN_ORDER if k in joins]
    return new_flags, ordered, {ns["type"] for ns in entries}


def check_path(kind, path, json_path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigError(json_path, f"cannot open namespace {path}: {exc.strerror}") from None
    try:
        actual = fcntl.ioctl(fd, NS_GET_NSTYPE)
    except OSError:
        raise ConfigError(json_path, f"{path} is not a namespace file") from None
    finally:
        os.close(fd)
    if actual != FLAGS[kind]:
        names = {v: k for k, v in FLAGS.items()}
        raise ConfigError(json_path, f"{path} is a {names.get(actual, 'unknown')} namespace, not {kind}")


def private(kind, new_flags, joins):
    """Whether the container gets a namespace of this kind that is not the runtime's:
    a new one, or one joined by path that is not the one the runtime runs in.
    Settings that live in a namespace (hostname, namespaced sysctls) may only be
    applied to a private one: in the runtime's own they would change the host."""
    if new_flags & FLAGS[kind]:
        return True
    path = dict(joins).get(kind)
    return path is not None and not same_namespace(path, f"/proc/self/ns/{PROC_NAMES[kind]}")


def same_namespace(path, other):
    """Two namespace files name the same namespace (same nsfs inode)."""
    try:
        a, b = os.stat(path), os.stat(other)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def shares_host_mounts(config):
    """No mount namespace in the config: the runtime's (the host's) is the
    container's, as the spec says of a type left out (rootfs/host_mounts.py)."""
    return not any(ns["type"] == "mount" for ns in config["linux"]["namespaces"])
