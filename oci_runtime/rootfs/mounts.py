"""config.mounts, made with the new mount API: every mount is built detached, then attached.

Sections: the kernel filesystems (what may be mounted at /proc, /sys,
/dev/pts, /dev/mqueue), the mounting itself, and its special cases (cgroups,
idmapped binds).  How a mount's "options" map onto the API is
mount_options.py; tmpcopyup and the idmap user namespace are special_mounts.py.

For each entry:
  1. the destination is created/opened inside the root (inroot.Root), and
     checked against the rules for /proc, /sys, /dev/pts, /dev/mqueue;
  2. the mount is made *detached*: a bind is a clone of its source
     (open_tree(OPEN_TREE_CLONE)), a filesystem is fsopen + fsconfig + fsmount;
     its flags ("ro", "nosuid", ...) are set on it while nobody can see it, and
     its filesystem type is checked;
  3. it is attached onto the destination's descriptor with move_mount;
  4. propagation and recursive attributes are set through the same descriptor.
No step names the destination by path again, so nothing can swap it between
the check and the mount, or between the mount and the "ro" remount (runc
re-resolves after mount(2) and says so: its reopenAfterMount).  The only
mount(2) left is the rare "remount" of what already is at a destination.
"""
import errno
import os
import stat

from oci_runtime import shim
from oci_runtime.errors import OCIError
from oci_runtime.rootfs.inroot import Root, lexical
from oci_runtime.rootfs.mount_options import (SUPERBLOCK_KEYS, MountOptions, changed_attributes, mount_attributes,
                                              source_flags)

# ------------------------------------------------------------------ kernel filesystems
# /proc, /sys, /dev/pts and /dev/mqueue: only their own filesystems may be mounted there.
#
# Tools in the container, and the runtime's own later steps, trust what these
# paths are: sysctl and oom_score_adj writes, LSM attributes (CVE-2019-16884,
# CVE-2025-52881), the masked paths that hide /proc/kcore and friends.  A bind of
# a host or image directory at /proc would turn all of that into writes and
# reads of ordinary files.  So, as runc's checkProcMount and more:
#
# * a mount *at* a name in ``EXPECTED`` must be that filesystem: checked with
#   fstatfs on the detached mount (a fresh one, or the clone of a bind's source)
#   before it is attached, so a wrong one is never visible;
# * nothing may be mounted *inside* /proc but the few files lxcfs emulates;
# * /proc and /sys are mounted exactly where they are named: a symlink on the
#   way is refused (runc: 'must be mounted on ordinary directory'), since it
#   could send the procfs mount, and every write under it, elsewhere.

PROC_SUPER_MAGIC = 0x9FA0
SYSFS_MAGIC = 0x62656572
DEVPTS_SUPER_MAGIC = 0x1CD1
MQUEUE_MAGIC = 0x19800202
# destination -> (filesystem type, statfs magic)
EXPECTED = {
    "/proc": ("proc", PROC_SUPER_MAGIC),
    "/sys": ("sysfs", SYSFS_MAGIC),
    "/dev/pts": ("devpts", DEVPTS_SUPER_MAGIC),
    "/dev/mqueue": ("mqueue", MQUEUE_MAGIC),
}
# Destinations (and filesystem types) that must be reached without any symlink.
NO_SYMLINKS = ("/proc", "/sys")
NO_SYMLINK_TYPES = ("proc", "sysfs")
# The files inside /proc that may be mounted over (lxcfs emulates them), as runc.
LXCFS_FILES = frozenset((
    "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
    "/proc/loadavg", "/proc/slabinfo", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
))


class MountError(OCIError):
    pass


def must_avoid_symlinks(destination, fstype):
    return destination in NO_SYMLINKS or fstype in NO_SYMLINK_TYPES


def check_place(resolved, fstype):
    """Before anything is mounted: ``resolved`` is where the destination lies in the
    container once its symlinks are followed."""
    if resolved.startswith("/proc/") and resolved not in LXCFS_FILES:
        raise MountError(f'"{resolved}" cannot be mounted because it is inside /proc')


def check_target(destination, fstype, target_fd):
    """/proc and /sys must be (or become) ordinary directories."""
    if must_avoid_symlinks(destination, fstype) and not stat.S_ISDIR(os.fstat(target_fd).st_mode):
        raise MountError(f'filesystem "{fstype or "bind"}" must be mounted on ordinary directory '
                         f'("{destination}" is not a directory in the rootfs)')


def check_filesystem(names, mount_fd):
    """The detached mount about to be attached at any of ``names`` (the destination
    as written and as resolved) is the filesystem that name requires."""
    for name in names:
        expected = EXPECTED.get(name)
        if expected and shim.fstatfs_type(mount_fd) != expected[1]:
            raise MountError(f'"{name}" cannot be mounted because it is not of type {expected[0]}')


# ------------------------------------------------------------------ mounting

_CLONE = shim.OPEN_TREE_CLONE | shim.OPEN_TREE_CLOEXEC


def bind_rootfs(rootfs_dir):
    """Bind the rootfs onto itself (recursively, as runc: pivot_root needs a mount
    point) and return a Root on the new mount: the handle every later step uses."""
    what = f"binding the rootfs {rootfs_dir}"
    try:
        tree = shim.open_tree(rootfs_dir, _CLONE | shim.AT_RECURSIVE)
    except OSError as exc:
        raise MountError(f"{what}: {exc.strerror}") from None
    try:
        target = os.open(rootfs_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            attach(tree, target, what)
        finally:
            os.close(target)
    except BaseException:
        os.close(tree)
        raise
    return Root(tree)


def attach(mount_fd, target_fd, what):
    try:
        shim.move_mount(mount_fd, target_fd)
    except OSError as exc:
        raise MountError(f"{what}: {exc.strerror}") from None


def clone(source, recursive, what, dirfd=shim.AT_FDCWD):
    """A detached copy of the mount tree at ``source`` (a path, or with dirfd and
    "" the object open as dirfd)."""
    flags = _CLONE | (shim.AT_RECURSIVE if recursive else 0) | (shim.AT_EMPTY_PATH if source == "" else 0)
    try:
        return shim.open_tree(source, flags, dirfd)
    except OSError as exc:
        raise MountError(f"{what}: {exc.strerror}") from None


def set_attributes(mount_fd, attr_set, attr_clr, what, recursive=False, propagation=0):
    flags = shim.AT_EMPTY_PATH | (shim.AT_RECURSIVE if recursive else 0)
    try:
        shim.mount_setattr("", flags, attr_set, attr_clr, propagation, dirfd=mount_fd)
    except OSError as exc:
        raise MountError(f"{what}: {exc.strerror}") from None


def new_filesystem(fstype, source, flags, data_items, what):
    """A detached mount of a new ``fstype`` instance: fsopen, one fsconfig per data
    item (what mount(2) does with its comma-separated string), fsmount."""
    try:
        fs = shim.fsopen(fstype)
    except OSError as exc:
        raise MountError(f"{what}: {exc.strerror}") from None
    try:
        if source:
            shim.fsconfig_string(fs, "source", source)
        for flag, key in SUPERBLOCK_KEYS:
            if flags & flag:
                shim.fsconfig_flag(fs, key)
        for item in data_items:
            for option in item.split(","):
                key, sep, value = option.partition("=")
                if not key:
                    continue
                if sep:
                    shim.fsconfig_string(fs, key, value)
                else:
                    shim.fsconfig_flag(fs, key)
        shim.fsconfig_create(fs)
        return shim.fsmount(fs, mount_attributes(flags))
    except OSError as exc:
        detail = _kernel_messages(fs)
        raise MountError(f"{what}: {exc.strerror}" + (f" ({detail})" if detail else "")) from None
    finally:
        os.close(fs)


def _kernel_messages(fs):
    """What the filesystem said about a refused option (read from the fs_context)."""
    messages = []
    while len(messages) < 8:
        try:
            line = os.read(fs, 1024).decode(errors="replace").strip()
        except OSError:
            break
        if not line:
            break
        messages.append(line[2:] if line[:2] in ("e ", "w ", "i ") else line)
    return "; ".join(messages)


def mount_entry(root, entry, cgroup, cgroupns, open_source=None):
    """Mount one config.mounts entry inside ``root`` (a Root on the rootfs).
    ``open_source(path)``, given in a user namespace, opens a bind source the
    init may not reach itself (process/mount_sources.py)."""
    # The name the spec gives meaning to (/proc, /sys, ...), lexically clean; the
    # destination itself is resolved as written (a relative one relative to "/"),
    # ".." after the symlinks before it, as runc's securejoin does.
    destination = lexical(entry["destination"])
    fstype = entry.get("type") or ""
    source = entry.get("source") or fstype or "none"
    opts = MountOptions(entry.get("options"))
    if destination == "/dev":
        opts.flags &= ~shim.MS_RDONLY  # made read-only once /dev is set up (dev_read_only)
    flags = opts.flags
    is_bind = bool(flags & shim.MS_BIND) or fstype == "bind"
    what = f'mounting "{source}" to "{entry["destination"]}" (type {fstype or ("bind" if is_bind else "none")})'
    if not fstype and not is_bind:
        raise MountError(f'{what}: no filesystem type: set "type", or "bind" in "options"')
    source_fd = _open_bind_source(source, open_source, what) if is_bind else None
    try:
        _mount_entry(root, entry, destination, fstype, source, source_fd, opts, is_bind, cgroup, cgroupns, what)
    finally:
        if source_fd is not None:
            os.close(source_fd)


def _open_bind_source(source, open_source, what):
    """An O_PATH descriptor of a bind's source, followed as mount(8) would.  Where
    the init lacks the permission (a user namespace), ``open_source`` asks the
    host's side to open it."""
    try:
        return os.open(source, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        raise MountError(f"{what}: source does not exist") from None
    except PermissionError as exc:
        if open_source is None:
            raise MountError(f"{what}: opening the source: {exc.strerror}") from None
    except OSError as exc:
        raise MountError(f"{what}: opening the source: {exc.strerror}") from None
    try:
        return open_source(os.path.abspath(source))
    except OCIError as exc:
        raise MountError(f"{what}: {exc}") from None


def _mount_entry(root, entry, destination, fstype, source, source_fd, opts, is_bind, cgroup, cgroupns, what):
    flags = opts.flags
    kind = "file" if is_bind and not stat.S_ISDIR(os.fstat(source_fd).st_mode) else "dir"
    no_symlinks = must_avoid_symlinks(destination, fstype)
    try:
        target = root.make(entry["destination"], kind, no_symlinks=no_symlinks)
    except OSError as exc:
        if no_symlinks and exc.errno == 40:  # ELOOP: a symlink on the way
            raise MountError(f'{what}: filesystem "{fstype or "bind"}" must be mounted on ordinary directory '
                             f'("{destination}" goes through a symlink in the rootfs)') from None
        raise MountError(f"{what}: creating the mount point: {exc.strerror}") from None
    try:
        resolved = root.path_of(target)
        check_place(resolved, fstype)
        check_target(destination, fstype, target)
        handle = _make_detached(entry, fstype, source, source_fd, opts, is_bind, target, cgroup, cgroupns, what)
        if handle is None:
            return
        try:
            check_filesystem((destination, resolved), handle)
            if "tmpcopyup" in opts.extensions and fstype == "tmpfs":
                from oci_runtime.rootfs import special_mounts  # loaded by Spawn.load_modules

                special_mounts.copy_up(target, handle, what)
            attach(handle, target, what)
            if fstype in ("cgroup", "cgroup2"):
                _fill_cgroup_tmpfs(handle, flags, cgroup, what)
            for pflag in opts.propagation:
                set_attributes(handle, 0, 0, f"{what}: setting propagation", bool(pflag & shim.MS_REC),
                               pflag & ~shim.MS_REC)
            if opts.attr_set or opts.attr_clr:
                set_attributes(handle, opts.attr_set, opts.attr_clr, f"{what}: recursive options", True)
        finally:
            os.close(handle)
    finally:
        os.close(target)


def dev_read_only(mounts):
    """Whether a mount at /dev asked for "ro": mount_entry leaves it writable so
    that /dev/pts, /dev/shm, the links and the device nodes can be made in it,
    and assemble.finish makes it read-only afterwards (runc's finalizeRootfs)."""
    return any(lexical(m["destination"]) == "/dev" and MountOptions(m.get("options")).flags & shim.MS_RDONLY
               for m in mounts)


def _make_detached(entry, fstype, source, source_fd, opts, is_bind, target, cgroup, cgroupns, what):
    """The new mount, detached, with its flags; None when it was done in place (remount)."""
    flags = opts.flags
    if fstype in ("cgroup", "cgroup2"):
        return _cgroup_mount(flags, cgroup, cgroupns, what)
    if is_bind:
        if opts.extensions & {"idmap", "ridmap"}:
            tree = _idmapped_clone(source_fd, entry, "ridmap" in opts.extensions or flags & shim.MS_REC, what)
        else:
            tree = clone("", bool(flags & shim.MS_REC), what, dirfd=source_fd)
        try:
            if flags & ~(shim.MS_BIND | shim.MS_REC | shim.MS_REMOUNT):
                _set_bind_flags(tree, flags, what)
        except BaseException:
            os.close(tree)
            raise
        return tree
    if flags & shim.MS_REMOUNT:
        # "remount" of what is already mounted there: the one mount(2) by path, through
        # the target's descriptor in our (the host's, before the switch) /proc.
        try:
            shim.mount(source, f"/proc/self/fd/{target}", fstype, flags, opts.data or None)
        except OSError as exc:
            raise MountError(f"{what}: {exc.strerror}") from None
        return None
    return new_filesystem(fstype, source, flags, opts.data_items, what)


def _set_bind_flags(tree, flags, what):
    """Give the detached clone of a bind's source exactly the flags asked for; where
    the kernel refuses (EPERM: in a user namespace a mount's nosuid, nodev,
    noexec, ro and atime flags are locked when they came from a more privileged
    namespace), keep the flags the source has and set the rest, as runc does."""
    attr_set, attr_clr = changed_attributes(flags)
    try:
        shim.mount_setattr("", shim.AT_EMPTY_PATH, attr_set, attr_clr, 0, dirfd=tree)
        return
    except OSError as exc:
        if exc.errno != errno.EPERM:
            raise MountError(f"{what}: {exc.strerror}") from None
    kept = source_flags(tree)
    attr_set, attr_clr = changed_attributes(flags | kept)
    try:
        shim.mount_setattr("", shim.AT_EMPTY_PATH, attr_set, attr_clr, 0, dirfd=tree)
    except OSError as exc:
        raise MountError(f"{what}: {exc.strerror} (even keeping the source's own flags)") from None


# ------------------------------------------------------------------ cgroups

def _cgroup_mount(flags, cgroup, cgroupns, what):
    """/sys/fs/cgroup in the container, as the cgroup driver says it looks
    (``container_view``): cgroup2 -- its own, in a cgroup namespace, else a bind
    of the container's cgroup -- or, for v1 hierarchies, a tmpfs that
    _fill_cgroup_tmpfs fills with each hierarchy's container directory."""
    kind, where = cgroup.container_view()
    if kind == "cgroup2":
        if cgroupns:
            return new_filesystem("cgroup2", "cgroup2", flags, (), what)
        tree = clone(where, False, what)
        attr_set, attr_clr = changed_attributes(flags)
        set_attributes(tree, attr_set, attr_clr, what)
        return tree
    base = flags & (shim.MS_NOSUID | shim.MS_NODEV | shim.MS_NOEXEC)
    return new_filesystem("tmpfs", "tmpfs", base, ("mode=755",), what)


def _fill_cgroup_tmpfs(tmpfs, flags, cgroup, what):
    """Bind each v1 hierarchy's container directory under the (attached) tmpfs, then
    make the tmpfs read-only if asked.  The tmpfs is new and ours alone: no one
    else can write into it while this runs."""
    kind, views = cgroup.container_view()
    if kind == "cgroup2":
        return
    base = flags & (shim.MS_NOSUID | shim.MS_NODEV | shim.MS_NOEXEC)
    attr_set, attr_clr = changed_attributes(base | (flags & shim.MS_RDONLY))
    for name, host_dir in views:
        os.mkdir(name, 0o755, dir_fd=tmpfs)
        sub = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=tmpfs)
        try:
            tree = clone(host_dir, False, what)
            try:
                set_attributes(tree, attr_set, attr_clr, what)
                attach(tree, sub, what)
            finally:
                os.close(tree)
        finally:
            os.close(sub)
    if flags & shim.MS_RDONLY:
        set_attributes(tmpfs, shim.MOUNT_ATTR_RDONLY, 0, what)


def _idmapped_clone(source_fd, entry, recursive, what):
    """A detached clone of ``source`` whose ids are mapped through a user namespace
    carrying the mount's uidMappings/gidMappings."""
    uid_maps, gid_maps = entry.get("uidMappings"), entry.get("gidMappings")
    if not uid_maps or not gid_maps:
        raise MountError(f"{what}: idmap needs both uidMappings and gidMappings on the mount")
    from oci_runtime.rootfs import special_mounts  # loaded by Spawn.load_modules

    userns_fd = special_mounts.mapped_user_namespace(uid_maps, gid_maps)
    try:
        tree = clone("", recursive, what, dirfd=source_fd)
        try:
            shim.mount_setattr("", shim.AT_EMPTY_PATH | (shim.AT_RECURSIVE if recursive else 0),
                               attr_set=shim.MOUNT_ATTR_IDMAP, userns_fd=userns_fd, dirfd=tree)
        except OSError as exc:
            os.close(tree)
            raise MountError(f"{what}: idmapped mount: {exc.strerror}") from None
        return tree
    finally:
        os.close(userns_fd)
