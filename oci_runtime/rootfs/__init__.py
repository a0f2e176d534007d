"""The container's filesystem view: mounts, /dev, the switch into the rootfs, masks.

Runs in the init process, inside its new mount namespace, so nothing here
touches the host's mount table: when the namespace dies, every mount goes
with it.  (A config with no mount namespace shares the host's: then "/" is
left alone, the switch is a chroot, and delete detaches the mounts made:
host_mounts.py.)  Order (as runc):

  prepare()   make "/" a slave (host mounts still propagate in, ours never
              out); bind the rootfs onto itself; mount config.mounts in order
              (mounts.py); create /dev nodes and links (dev.py);
              run the createContainer hook point; pivot_root, or with
              --no-pivot hide the host's procfs/sysfs and chroot
  finish()    after the switch: a /dev mounted "ro" made read-only, masked
              paths, read-only paths, read-only root

One path regime (inroot.py): every path under the rootfs is reached through
a descriptor of the root with openat2(RESOLVE_IN_ROOT), and every mount is
built detached and attached to a descriptor with move_mount.

Modules: assemble (prepare, finish: the order above, the switch, the masks),
inroot (the Root), mounts (a mount's options, the /proc and /sys rules, and how
each mount is built), dev, console (the pty and /dev/console), host_mounts (the
mounts a container without a mount namespace leaves on the host, detached).  This file
imports none of them: `exec` needs only inroot and console, and every module
costs start-up time on every create (a few, each a concern of its own, rather
than one per function).
"""
