"""The default config.json written by `oci-runtime spec`: what `runc spec` writes.

The same document as runc's (current runc: no ambient or inheritable
capabilities; the cgroup namespace only on a pure cgroup v2 host, where it is
what makes /sys/fs/cgroup the container's own), except ociVersion and the
hostname, which is this program's name where runc's is "runc".

Kept as data in a function (not a JSON file) so `spec` needs no file lookup;
tests check it against specs/config.schema.json and against `runc spec`.
"""
from oci_runtime import OCI_VERSION

_DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
    "/proc/scsi",
]
READONLY_PATHS = [
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
]


def default_spec(rootless=False):
    namespaces = ["pid", "network", "ipc", "uts", "mount"]
    if _pure_cgroup_v2():
        namespaces.append("cgroup")
    spec = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": list(_DEFAULT_CAPS),
                "effective": list(_DEFAULT_CAPS),
                "permitted": list(_DEFAULT_CAPS),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "oci-runtime",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [{"type": t} for t in namespaces],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }
    if rootless:
        _make_rootless(spec)
    return spec


def _pure_cgroup_v2():
    from oci_runtime import cgroups

    return cgroups.host_layout().mode == "unified"


def _make_rootless(spec):
    """runc's rootless adjustments (`runc spec --rootless`): a user namespace, last,
    mapping the caller's own uid and gid to root; no network namespace (a user
    cannot give it an interface); sysfs bound from the host (mounting sysfs needs
    a network namespace of one's own); no uid=/gid= mount options (those ids are
    not mapped); no cgroup limits (a user's cgroups are optional: rootless.py)."""
    import os

    linux = spec["linux"]
    linux["namespaces"] = [ns for ns in linux["namespaces"] if ns["type"] not in ("network", "user")]
    linux["namespaces"].append({"type": "user"})
    linux["uidMappings"] = [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": os.getegid(), "size": 1}]
    del linux["resources"]
    mounts = []
    for mount in spec["mounts"]:
        if mount["destination"] == "/sys":
            mount = {"destination": "/sys", "type": "none", "source": "/sys",
                     "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}
        elif "options" in mount:
            mount = dict(mount, options=[o for o in mount["options"]
                                         if not o.startswith(("uid=", "gid="))])
        mounts.append(mount)
    spec["mounts"] = mounts
