"""A container without a mount namespace of its own: its mounts are the host's.

The runtime-spec says a namespace type left out of linux.namespaces is shared
with the runtime.  For "mount" that means every mount of the config, and the
rootfs bind, is made in the host's mount namespace (under the rootfs), and
nothing takes them away when the container's processes end.  runc leaves them
there (and turns the host's "/" into a recursive slave); oci-runtime records
which mounts were under the rootfs before create (``before``, in the state)
and removes every other one there when the container is deleted or its create
fails, deepest first.  The host's "/" is left as it was: the init enters the
rootfs with chroot, not pivot_root.  A process with CAP_SYS_CHROOT can leave a
chroot: such a container is only as confined as that (docs/spec-coverage.md).
"""
import os

from oci_runtime import faults, mountinfo, shim
from oci_runtime.rootfs.inroot import Root, at_or_under


def unmount_for(st):
    """The mounts a container's create made on the host (``st.private``'s
    "host_mounts_before" says which were there before), detached; one that
    cannot be is an error naming it, and the caller keeps the state, so a later
    delete can try again."""
    before = st.private.get("host_mounts_before")
    if before is None:
        return
    failed = unmount_new(st.data["rootfs"], before)
    if failed:
        from oci_runtime.errors import OCIError

        raise OCIError(f"container {st.id}: could not unmount {', '.join(failed)} (made in the host's mount "
                       "namespace: the config has no mount namespace)")


def ids_under(rootfs_dir):
    """The ids of the host's mounts at or under ``rootfs_dir`` (an engine's own
    rootfs mount, say): never removed by ``unmount_new``."""
    return sorted(m.mount_id for m in mountinfo.read() if at_or_under(m.mountpoint, rootfs_dir))


def unmount_new(rootfs_dir, before):
    """Detach every mount at or under ``rootfs_dir`` that is not in ``before``,
    deepest (and, on one mount point, latest) first.  Returns the mount points it
    could not detach.

    Each is reached through the rootfs's descriptor with no symlink followed
    (openat2), checked to be the very mount listed (its mnt_id), and detached
    through that descriptor: a directory of the rootfs swapped for a symlink
    (by another container sharing the volume) cannot turn this into an unmount
    of the host's own mounts."""
    keep = set(before)
    listed = [(i, m) for i, m in enumerate(mountinfo.read())
              if at_or_under(m.mountpoint, rootfs_dir) and m.mount_id not in keep]
    listed.sort(key=lambda item: (item[1].mountpoint.count("/"), item[0]), reverse=True)
    faults.point("delete:host-mounts-listed")  # the window a racing writer of the rootfs has
    failed = []
    with Root.of_directory(rootfs_dir) as root:
        for _, mount in listed:
            relative = mount.mountpoint[len(rootfs_dir.rstrip("/")):] or "/"
            try:
                fd = root.open(relative, os.O_PATH | os.O_NOFOLLOW, resolve=shim.RESOLVE_NO_SYMLINKS)
            except OSError:
                failed.append(mount.mountpoint)
                continue
            try:
                if _mount_id(fd) != mount.mount_id:
                    failed.append(mount.mountpoint)
                    continue
                shim.umount2(f"/proc/self/fd/{fd}", shim.MNT_DETACH)
            except OSError:
                failed.append(mount.mountpoint)
            finally:
                os.close(fd)
    return failed


def _mount_id(fd):
    with open(f"/proc/self/fdinfo/{fd}") as f:
        for line in f:
            if line.startswith("mnt_id:"):
                return int(line.split()[1])
    return -1
