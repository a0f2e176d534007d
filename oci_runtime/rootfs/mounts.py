"""config.mounts, made with the new mount API: every mount is built detached, then attached.

Sections: the options (how a mount's "options" map onto the API), the kernel
filesystems (what may be mounted at /proc, /sys, /dev/pts, /dev/mqueue), the
mounting itself, and its special cases (cgroups, tmpcopyup, idmapped binds).

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
import os
import stat

from oci_runtime import shim
from oci_runtime.errors import OCIError
from oci_runtime.rootfs.inroot import Root, lexical

# ------------------------------------------------------------------ options
# config.md lets an option be a mount(8) flag ("ro", "nosuid"), a propagation
# ("rprivate"), a recursive attribute ("rro"), one of the runtime's extensions
# ("tmpcopyup", "idmap") or anything else, which goes to the filesystem as its
# data.  Mounts are made with the new mount API, so the flags are turned into
# the two places that API keeps them: per-mount attributes (MOUNT_ATTR_*, for
# fsmount and mount_setattr) and superblock flags (fsconfig flag keys).

# option -> (set flags, clear flags)
MOUNT_FLAGS = {
    "ro": (shim.MS_RDONLY, 0), "rw": (0, shim.MS_RDONLY),
    "nosuid": (shim.MS_NOSUID, 0), "suid": (0, shim.MS_NOSUID),
    "nodev": (shim.MS_NODEV, 0), "dev": (0, shim.MS_NODEV),
    "noexec": (shim.MS_NOEXEC, 0), "exec": (0, shim.MS_NOEXEC),
    "sync": (shim.MS_SYNCHRONOUS, 0), "async": (0, shim.MS_SYNCHRONOUS),
    "dirsync": (shim.MS_DIRSYNC, 0),
    "remount": (shim.MS_REMOUNT, 0),
    "mand": (shim.MS_MANDLOCK, 0), "nomand": (0, shim.MS_MANDLOCK),
    "noatime": (shim.MS_NOATIME, 0), "atime": (0, shim.MS_NOATIME),
    "nodiratime": (shim.MS_NODIRATIME, 0), "diratime": (0, shim.MS_NODIRATIME),
    "relatime": (shim.MS_RELATIME, 0), "norelatime": (0, shim.MS_RELATIME),
    "strictatime": (shim.MS_STRICTATIME, 0), "nostrictatime": (0, shim.MS_STRICTATIME),
    "lazytime": (shim.MS_LAZYTIME, 0), "nolazytime": (0, shim.MS_LAZYTIME),
    "nosymfollow": (shim.MS_NOSYMFOLLOW, 0), "symfollow": (0, shim.MS_NOSYMFOLLOW),
    "silent": (shim.MS_SILENT, 0), "loud": (0, shim.MS_SILENT),
    "bind": (shim.MS_BIND, 0), "rbind": (shim.MS_BIND | shim.MS_REC, 0),
    "iversion": (1 << 23, 0), "noiversion": (0, 1 << 23),
    "defaults": (0, 0),
}
PROPAGATION_FLAGS = {
    "private": shim.MS_PRIVATE, "rprivate": shim.MS_PRIVATE | shim.MS_REC,
    "shared": shim.MS_SHARED, "rshared": shim.MS_SHARED | shim.MS_REC,
    "slave": shim.MS_SLAVE, "rslave": shim.MS_SLAVE | shim.MS_REC,
    "unbindable": shim.MS_UNBINDABLE, "runbindable": shim.MS_UNBINDABLE | shim.MS_REC,
}
_ATIME = shim.MOUNT_ATTR__ATIME
# Recursive options (mount_setattr with AT_RECURSIVE): option -> (attr_set, attr_clr).
RECURSIVE_ATTRS = {
    "rro": (shim.MOUNT_ATTR_RDONLY, 0), "rrw": (0, shim.MOUNT_ATTR_RDONLY),
    "rnosuid": (shim.MOUNT_ATTR_NOSUID, 0), "rsuid": (0, shim.MOUNT_ATTR_NOSUID),
    "rnodev": (shim.MOUNT_ATTR_NODEV, 0), "rdev": (0, shim.MOUNT_ATTR_NODEV),
    "rnoexec": (shim.MOUNT_ATTR_NOEXEC, 0), "rexec": (0, shim.MOUNT_ATTR_NOEXEC),
    "rnodiratime": (shim.MOUNT_ATTR_NODIRATIME, 0), "rdiratime": (0, shim.MOUNT_ATTR_NODIRATIME),
    "rrelatime": (shim.MOUNT_ATTR_RELATIME, _ATIME), "rnorelatime": (shim.MOUNT_ATTR_STRICTATIME, _ATIME),
    "rnoatime": (shim.MOUNT_ATTR_NOATIME, _ATIME), "ratime": (shim.MOUNT_ATTR_RELATIME, _ATIME),
    "rstrictatime": (shim.MOUNT_ATTR_STRICTATIME, _ATIME), "rnostrictatime": (shim.MOUNT_ATTR_RELATIME, _ATIME),
    "rnosymfollow": (shim.MOUNT_ATTR_NOSYMFOLLOW, 0), "rsymfollow": (0, shim.MOUNT_ATTR_NOSYMFOLLOW),
}
# Options that change how the runtime mounts, rather than flags or fs data.
EXTENSIONS = ("tmpcopyup", "idmap", "ridmap")

# mount(2) flag -> per-mount attribute (fsmount, mount_setattr).
_PER_MOUNT = (
    (shim.MS_RDONLY, shim.MOUNT_ATTR_RDONLY), (shim.MS_NOSUID, shim.MOUNT_ATTR_NOSUID),
    (shim.MS_NODEV, shim.MOUNT_ATTR_NODEV), (shim.MS_NOEXEC, shim.MOUNT_ATTR_NOEXEC),
    (shim.MS_NODIRATIME, shim.MOUNT_ATTR_NODIRATIME), (shim.MS_NOSYMFOLLOW, shim.MOUNT_ATTR_NOSYMFOLLOW),
)
# mount(2) flag -> the superblock flag key fsconfig takes (fs/fs_context.c).
SUPERBLOCK_KEYS = (
    (shim.MS_RDONLY, "ro"), (shim.MS_SYNCHRONOUS, "sync"), (shim.MS_DIRSYNC, "dirsync"),
    (shim.MS_LAZYTIME, "lazytime"), (shim.MS_MANDLOCK, "mand"),
)


class MountOptions:
    """A mount's options sorted into what each needs: mount(2) flags, propagation
    calls, recursive mount_setattr attributes, runtime extensions, and the rest,
    which goes to the filesystem as its data (as the spec says)."""

    def __init__(self, options):
        self.flags = 0
        self.propagation = []
        self.attr_set = self.attr_clr = 0
        self.extensions = set()
        self.data_items = []
        for option in options or ():
            if option in MOUNT_FLAGS:
                set_bits, clear_bits = MOUNT_FLAGS[option]
                self.flags = (self.flags | set_bits) & ~clear_bits
            elif option in PROPAGATION_FLAGS:
                self.propagation.append(PROPAGATION_FLAGS[option])
            elif option in RECURSIVE_ATTRS:
                set_bits, clear_bits = RECURSIVE_ATTRS[option]
                self.attr_set = (self.attr_set & ~clear_bits) | set_bits
                self.attr_clr = (self.attr_clr & ~set_bits) | clear_bits
            elif option in EXTENSIONS:
                self.extensions.add(option)
            else:
                self.data_items.append(option)
        self.data = ",".join(self.data_items)


def mount_attributes(flags):
    """The MOUNT_ATTR_* bits a mount made with ``flags`` gets (atime: relatime unless
    noatime or strictatime is asked for, as mount(2) does)."""
    attrs = 0
    for flag, attr in _PER_MOUNT:
        if flags & flag:
            attrs |= attr
    if flags & shim.MS_NOATIME:
        attrs |= shim.MOUNT_ATTR_NOATIME
    elif flags & shim.MS_STRICTATIME:
        attrs |= shim.MOUNT_ATTR_STRICTATIME
    return attrs


def changed_attributes(flags):
    """(attr_set, attr_clr) for mount_setattr that gives an existing mount exactly the
    per-mount flags of ``flags``, as a bind remount with mount(2) does: what is not
    asked for is cleared, and the atime mode is relatime unless another is named."""
    attr_clr = shim.MOUNT_ATTR__ATIME
    for _flag, attr in _PER_MOUNT:
        attr_clr |= attr
    return mount_attributes(flags), attr_clr


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


def mount_entry(root, entry, cgroup, cgroupns):
    """Mount one config.mounts entry inside ``root`` (a Root on the rootfs)."""
    # The name the spec gives meaning to (/proc, /sys, ...), lexically clean; the
    # destination itself is resolved as written (a relative one relative to "/"),
    # ".." after the symlinks before it, as runc's securejoin does.
    destination = lexical(entry["destination"])
    fstype = entry.get("type") or ""
    source = entry.get("source") or fstype or "none"
    opts = MountOptions(entry.get("options"))
    flags = opts.flags
    is_bind = bool(flags & shim.MS_BIND) or fstype == "bind"
    what = f'mounting "{source}" to "{entry["destination"]}" (type {fstype or ("bind" if is_bind else "none")})'
    if not fstype and not is_bind:
        raise MountError(f'{what}: no filesystem type: set "type", or "bind" in "options"')
    if is_bind and not os.path.exists(source):
        raise MountError(f"{what}: source does not exist")
    kind = "file" if is_bind and not os.path.isdir(source) else "dir"
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
        handle = _make_detached(entry, fstype, source, opts, is_bind, target, cgroup, cgroupns, what)
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


def _make_detached(entry, fstype, source, opts, is_bind, target, cgroup, cgroupns, what):
    """The new mount, detached, with its flags; None when it was done in place (remount)."""
    flags = opts.flags
    if fstype in ("cgroup", "cgroup2"):
        return _cgroup_mount(flags, cgroup, cgroupns, what)
    if is_bind:
        if opts.extensions & {"idmap", "ridmap"}:
            tree = _idmapped_clone(source, entry, "ridmap" in opts.extensions or flags & shim.MS_REC, what)
        else:
            tree = clone(source, bool(flags & shim.MS_REC), what)
        try:
            if flags & ~(shim.MS_BIND | shim.MS_REC | shim.MS_REMOUNT):
                attr_set, attr_clr = changed_attributes(flags)
                set_attributes(tree, attr_set, attr_clr, what)
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


def _idmapped_clone(source, entry, recursive, what):
    """A detached clone of ``source`` whose ids are mapped through a user namespace
    carrying the mount's uidMappings/gidMappings."""
    uid_maps, gid_maps = entry.get("uidMappings"), entry.get("gidMappings")
    if not uid_maps or not gid_maps:
        raise MountError(f"{what}: idmap needs both uidMappings and gidMappings on the mount")
    from oci_runtime.rootfs import special_mounts  # loaded by Spawn.load_modules

    userns_fd = special_mounts.mapped_user_namespace(uid_maps, gid_maps)
    try:
        tree = clone(source, recursive, what)
        try:
            shim.mount_setattr("", shim.AT_EMPTY_PATH | (shim.AT_RECURSIVE if recursive else 0),
                               attr_set=shim.MOUNT_ATTR_IDMAP, userns_fd=userns_fd, dirfd=tree)
        except OSError as exc:
            os.close(tree)
            raise MountError(f"{what}: idmapped mount: {exc.strerror}") from None
        return tree
    finally:
        os.close(userns_fd)
