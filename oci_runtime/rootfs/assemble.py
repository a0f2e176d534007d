"""The order in which the container's filesystem view is made (see the package docstring).

prepare() runs in the init before the switch into the rootfs, finish() after.
"""
from oci_runtime import shim
from oci_runtime.rootfs import dev, masks, mounts, switch
from oci_runtime.rootfs.options import PROPAGATION_FLAGS


def prepare(config, rootfs_dir, no_pivot, cgroup_paths, cgroupns, before_pivot=None):
    """Everything up to and including the switch into the rootfs; ``before_pivot``
    runs once mounts and /dev exist (the createRuntime/createContainer hook point)."""
    linux = config.get("linux") or {}
    propagation = linux.get("rootfsPropagation") or "rslave"
    # Slave first, whatever was asked: host mounts keep propagating in, and
    # nothing mounted here can propagate out to the host.
    shim.mount(None, "/", None, shim.MS_SLAVE | shim.MS_REC)
    with mounts.bind_rootfs(rootfs_dir) as root:
        for entry in config.get("mounts") or ():
            mounts.mount_entry(root, entry, cgroup_paths, cgroupns)
        dev.setup_dev(root)
        dev.create_devices(root, linux.get("devices") or ())
        if before_pivot is not None:
            before_pivot()
        if no_pivot:
            switch.chroot_into(root)
        else:
            switch.pivot(root)
    if propagation not in ("slave", "rslave"):
        shim.mount(None, "/", None, PROPAGATION_FLAGS[propagation])


def finish(config, root):
    """After the switch (``root`` is a Root on the new "/"): masked and read-only
    paths, then a read-only root."""
    linux = config.get("linux") or {}
    masks.mask_paths(root, linux.get("maskedPaths") or ())
    masks.readonly_paths(root, linux.get("readonlyPaths") or ())
    if config["root"].get("readonly"):
        masks.readonly_root(root)
