"""The container's filesystem view: mounts, /dev, the switch into the rootfs, masks.

Runs in the init process, inside its new mount namespace, so nothing here
touches the host's mount table: when the namespace dies, every mount goes
with it.  Order (as runc):

  prepare()   make "/" a slave (host mounts still propagate in, ours never
              out); bind the rootfs onto itself; mount config.mounts in order
              (mounts.py, kernelfs.py); create /dev nodes and links (dev.py);
              run the createContainer hook point; pivot_root, or with
              --no-pivot hide the host's procfs/sysfs and chroot (switch.py)
  finish()    after the switch: masked paths, read-only paths, read-only root
              (masks.py)

One path regime (inroot.py): every path under the rootfs is reached through
a descriptor of the root with openat2(RESOLVE_IN_ROOT), and every mount is
built detached and attached to a descriptor with move_mount.
"""
from oci_runtime import shim
from oci_runtime.rootfs import dev, masks, mounts, switch
from oci_runtime.rootfs.inroot import Root
from oci_runtime.rootfs.kernelfs import MountError
from oci_runtime.rootfs.options import (EXTENSIONS, MOUNT_FLAGS, PROPAGATION_FLAGS, RECURSIVE_ATTRS,
                                        MountOptions)

__all__ = ["Root", "MountError", "MountOptions", "EXTENSIONS", "MOUNT_FLAGS", "PROPAGATION_FLAGS",
           "RECURSIVE_ATTRS", "prepare", "finish"]


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
