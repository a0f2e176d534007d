"""The container's filesystem view: mounts, /dev, pivot_root, masked and read-only paths.

Runs in the init process, inside its new mount namespace, so nothing here
touches the host's mount table: when the namespace dies, every mount goes
with it.  Order (as runc): make "/" a slave (host mounts still propagate in,
ours never out), bind the rootfs onto itself, mount config.mounts in order,
create /dev nodes and links, pivot_root (or chroot with --no-pivot), then
masked paths, read-only paths, and finally a read-only root.

Mount destinations are resolved inside the rootfs with symlinks followed as
if the rootfs were "/" (``resolve_in_root``), so an image cannot point a
mount at the host through a symlink.
"""
import os
import stat

from oci_runtime import shim
from oci_runtime.errors import OCIError

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
DEFAULT_DEVICES = (  # name, major, minor
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7),
    ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
)
DEV_LINKS = (
    ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"),
)


class MountError(OCIError):
    pass


class MountOptions:
    """A mount's options sorted into what each needs: mount(2) flags, propagation
    calls, recursive mount_setattr attributes, runtime extensions, and the rest,
    which goes to the filesystem as its data string (as the spec says)."""

    def __init__(self, options):
        self.flags = 0
        self.propagation = []
        self.attr_set = self.attr_clr = 0
        self.extensions = set()
        data = []
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
                data.append(option)
        self.data = ",".join(data)


def parse_options(options):
    """(flags, propagation flags list, data string) from a mount's options."""
    parsed = MountOptions(options)
    return parsed.flags, parsed.propagation, parsed.data


def resolve_in_root(root, path, max_links=255):
    """The host path of ``path`` as seen with ``root`` as "/": symlinks are followed
    but never leave ``root`` ("/.." stays at the root, absolute links restart at it)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            target = os.readlink(candidate)
        except OSError:  # not a link, or does not exist yet
            resolved.append(part)
            continue
        links += 1
        if links > max_links:
            raise MountError(f"too many levels of symbolic links resolving {path} in the rootfs")
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p not in ("", ".")] + parts
    return os.path.join(root, *resolved)


def _make_target(target, source_is_file):
    if source_is_file:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    else:
        os.makedirs(target, exist_ok=True)


def _mount(source, target, fstype, flags, data, what):
    try:
        shim.mount(source, target, fstype, flags, data)
    except OSError as exc:
        raise MountError(f"{what}: {exc.strerror}") from None


class SafeTarget:
    """A mount point opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from the
    rootfs: neither a symlink in the image nor a process racing us can move it out of
    the rootfs (CVE-2021-30465 class).  mount(2) is given /proc/self/fd/N.  After a
    mount, ``reopen()`` so the fd sees the new mount rather than what lies under it."""

    def __init__(self, rootfs, destination, is_file=False):
        # Symlinks (dangling ones too) are first followed as if rootfs were "/", so
        # their targets get created inside it; openat2 then confines every step.
        resolved = resolve_in_root(rootfs, destination)
        self.relative = os.path.relpath(resolved, rootfs)
        self.root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.fd = None
        try:
            _create_in_root(self.root_fd, self.relative, is_file)
            self.reopen()
        except BaseException:
            self.close()
            raise

    @property
    def path(self):
        return f"/proc/self/fd/{self.fd}"

    def reopen(self):
        if self.fd is not None:
            os.close(self.fd)
        self.fd = shim.openat2(self.root_fd, self.relative, os.O_PATH | os.O_CLOEXEC, 0,
                               shim.RESOLVE_IN_ROOT | shim.RESOLVE_NO_MAGICLINKS)

    def close(self):
        for fd in (self.fd, self.root_fd):
            if fd is not None:
                os.close(fd)
        self.fd = self.root_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _open_in_root(root_fd, relative, flags=os.O_PATH):
    return shim.openat2(root_fd, relative, flags | os.O_CLOEXEC, 0,
                        shim.RESOLVE_IN_ROOT | shim.RESOLVE_NO_MAGICLINKS)


def _create_in_root(root_fd, relative, is_file):
    """mkdir -p (and, for a file target, create the file) with every step resolved
    inside the root; what another process creates meanwhile is simply used."""
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    for i, name in enumerate(parts):
        prefix = "/".join(parts[: i + 1])
        try:
            os.close(_open_in_root(root_fd, prefix))
            continue
        except FileNotFoundError:
            pass
        parent = _open_in_root(root_fd, "/".join(parts[:i]) or ".", os.O_PATH | os.O_DIRECTORY)
        try:
            if i == len(parts) - 1 and is_file:
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                                 0o644, dir_fd=parent))
            else:
                os.mkdir(name, 0o755, dir_fd=parent)
        except FileExistsError:
            pass
        finally:
            os.close(parent)


def mount_entry(rootfs, entry, cgroup_paths, cgroupns):
    destination = entry["destination"]
    if not destination.startswith("/"):
        destination = "/" + destination  # the spec allows relative: relative to "/"
    fstype = entry.get("type") or ""
    source = entry.get("source") or fstype or "none"
    opts = MountOptions(entry.get("options"))
    flags = opts.flags
    what = f'mounting "{source}" to "{destination}" (type {fstype or "bind"})'
    is_bind = bool(flags & shim.MS_BIND) or fstype == "bind"
    if is_bind and not os.path.exists(source):
        raise MountError(f"{what}: source does not exist")
    try:
        target = SafeTarget(rootfs, destination, is_bind and not os.path.isdir(source))
    except OSError as exc:
        raise MountError(f"{what}: creating the mount point: {exc.strerror}") from None
    with target:
        if fstype == "cgroup" or fstype == "cgroup2":
            mount_cgroups(target, flags, cgroup_paths, cgroupns, what)
        elif is_bind:
            if opts.extensions & {"idmap", "ridmap"}:
                _idmapped_bind(source, target.fd, entry, "ridmap" in opts.extensions or flags & shim.MS_REC,
                               what)
            else:
                _mount(source, target.path, None, shim.MS_BIND | (flags & shim.MS_REC), None, what)
            target.reopen()
            extra = flags & ~(shim.MS_BIND | shim.MS_REC | shim.MS_REMOUNT)
            if extra:
                _mount(None, target.path, None, shim.MS_BIND | shim.MS_REMOUNT | extra, None, what)
        elif "tmpcopyup" in opts.extensions and fstype == "tmpfs":
            _tmpfs_with_copy_up(target, flags, opts.data or None, what)
        else:
            _mount(source, target.path, fstype, flags, opts.data or None, what)
        target.reopen()
        for pflag in opts.propagation:
            _mount(None, target.path, None, pflag, None, f"{what}: setting propagation")
        if opts.attr_set or opts.attr_clr:
            try:
                shim.mount_setattr(target.path, shim.AT_RECURSIVE, opts.attr_set, opts.attr_clr)
            except OSError as exc:
                raise MountError(f"{what}: recursive options: {exc.strerror}") from None


def _tmpfs_with_copy_up(target, flags, data, what):
    """tmpcopyup: the new tmpfs starts with a copy of what the image had there.
    The tmpfs is filled at a private staging point, then moved onto the target."""
    import shutil
    import tempfile

    staging = tempfile.mkdtemp(prefix="oci-tmpcopyup-")
    original = target.path
    try:
        _mount("tmpfs", staging, "tmpfs", flags, data, what)
        for name in os.listdir(original):
            src, dst = os.path.join(original, name), os.path.join(staging, name)
            if os.path.isdir(src) and not os.path.islink(src):
                shutil.copytree(src, dst, symlinks=True, copy_function=_copy_with_owner)
            else:
                _copy_with_owner(src, dst)
        st = os.stat(original)
        os.chown(staging, st.st_uid, st.st_gid)
        os.chmod(staging, st.st_mode & 0o7777)
        _mount(staging, target.path, None, shim.MS_MOVE, None, what)
    finally:
        os.rmdir(staging)


def _copy_with_owner(src, dst):
    import shutil

    shutil.copy2(src, dst, follow_symlinks=False)
    st = os.lstat(src)
    os.lchown(dst, st.st_uid, st.st_gid)
    return dst


def _idmapped_bind(source, target_fd, entry, recursive, what):
    """An idmapped bind mount: clone the source tree, attach a user namespace that
    carries the mount's uid/gid mappings, and move the clone onto the target."""
    uid_maps, gid_maps = entry.get("uidMappings"), entry.get("gidMappings")
    if not uid_maps or not gid_maps:
        raise MountError(f"{what}: idmap needs both uidMappings and gidMappings on the mount")
    userns_fd = _mapped_user_namespace(uid_maps, gid_maps)
    try:
        flags = shim.OPEN_TREE_CLONE | shim.OPEN_TREE_CLOEXEC | (shim.AT_RECURSIVE if recursive else 0)
        tree = shim.open_tree(source, flags)
        try:
            shim.mount_setattr("", shim.AT_EMPTY_PATH | (shim.AT_RECURSIVE if recursive else 0),
                               attr_set=shim.MOUNT_ATTR_IDMAP, userns_fd=userns_fd, dirfd=tree)
            shim.move_mount(tree, target_fd)
        finally:
            os.close(tree)
    except OSError as exc:
        raise MountError(f"{what}: idmapped mount: {exc.strerror}") from None
    finally:
        os.close(userns_fd)


def _mapped_user_namespace(uid_maps, gid_maps):
    """A user namespace with the given mappings, held open by fd (its process is gone)."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.close(done_w)
            shim.unshare(shim.CLONE_NEWUSER)
            # /proc is still the host's procfs here (this runs before pivot_root in a
            # new pid namespace): /proc/self names this process by its host pid.
            os.write(ready_w, os.readlink("/proc/self").encode())
            os.read(done_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        proc_pid = os.read(ready_r, 32).decode()
        if not proc_pid.isdigit():
            raise MountError("idmapped mount: could not create a user namespace")
        try:
            for name, maps in (("uid_map", uid_maps), ("gid_map", gid_maps)):
                with open(f"/proc/{proc_pid}/{name}", "w") as f:
                    f.write("".join(f"{m['containerID']} {m['hostID']} {m['size']}\n" for m in maps))
            return os.open(f"/proc/{proc_pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise MountError(f"idmapped mount: writing the mount's id mappings: {exc.strerror}") from None
    finally:
        os.close(ready_r)
        os.close(done_w)
        os.waitpid(pid, 0)


def mount_cgroups(target, flags, cgroup_paths, cgroupns, what):
    """/sys/fs/cgroup in the container: cgroup2 on a unified host; on v1/hybrid a
    tmpfs with each hierarchy's container directory bind-mounted under it.
    ``target`` is a SafeTarget; everything below it lives on our fresh tmpfs."""
    base = flags & (shim.MS_NOSUID | shim.MS_NODEV | shim.MS_NOEXEC)
    readonly = flags & shim.MS_RDONLY
    if list(cgroup_paths) == ["unified"]:
        if cgroupns:
            _mount("cgroup2", target.path, "cgroup2", flags, None, what)
        else:
            _mount(cgroup_paths["unified"], target.path, None, shim.MS_BIND, None, what)
            target.reopen()
            _mount(None, target.path, None, shim.MS_BIND | shim.MS_REMOUNT | flags, None, what)
        return
    _mount("tmpfs", target.path, "tmpfs", base, "mode=755", what)
    target.reopen()
    for key, host_dir in sorted(cgroup_paths.items()):
        name = key.replace("name=", "") if key != "unified" else "unified"
        sub = os.path.join(target.path, name)
        os.makedirs(sub, exist_ok=True)
        _mount(host_dir, sub, None, shim.MS_BIND, None, what)
        _mount(None, sub, None, shim.MS_BIND | shim.MS_REMOUNT | base | readonly, None, what)
    if readonly:
        _mount(None, target.path, None, shim.MS_REMOUNT | base | shim.MS_RDONLY, "mode=755", what)


def setup_dev(rootfs):
    """Default device nodes and /dev links, created inside the rootfs's /dev."""
    dev = resolve_in_root(rootfs, "/dev")
    os.makedirs(dev, exist_ok=True)
    old_umask = os.umask(0)
    try:
        for name, major, minor in DEFAULT_DEVICES:
            path = os.path.join(dev, name)
            if os.path.lexists(path):
                os.unlink(path)
            try:
                shim.mknod(path, stat.S_IFCHR | 0o666, major, minor)
            except OSError:  # no CAP_MKNOD (user namespace): bind the host's node
                _make_target(path, True)
                _mount(f"/dev/{name}", path, None, shim.MS_BIND, None, f"binding /dev/{name}")
        for name, target in DEV_LINKS:
            path = os.path.join(dev, name)
            if os.path.lexists(path):
                if os.path.islink(path) or not os.path.isdir(path):
                    os.unlink(path)
                else:
                    continue
            os.symlink(target, path)
    finally:
        os.umask(old_umask)


DEVICE_TYPES = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def create_devices(rootfs, devices):
    """linux.devices: nodes made with mknod (or, where that is not allowed, as in
    a user namespace, the host's node of the same path bind-mounted)."""
    old_umask = os.umask(0)
    try:
        for device in devices:
            target = resolve_in_root(rootfs, device["path"])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            mode = DEVICE_TYPES[device["type"]] | (device.get("fileMode", 0o666) & 0o7777)
            if os.path.lexists(target):
                _check_existing_device(target, device, mode)
                os.unlink(target)
            try:
                shim.mknod(target, mode, device.get("major", 0), device.get("minor", 0))
            except OSError:
                _make_target(target, True)
                _mount(device["path"], target, None, shim.MS_BIND, None,
                       f"linux.devices: binding {device['path']} from the host")
                continue
            os.chown(target, device.get("uid", 0), device.get("gid", 0))
    finally:
        os.umask(old_umask)


def _check_existing_device(target, device, mode):
    """A node already at the path must be the same device (the spec: a mismatch is an
    error); a default node this runtime made itself (/dev/null...) may be replaced."""
    st = os.lstat(target)
    same_type = stat.S_IFMT(st.st_mode) == stat.S_IFMT(mode)
    same_numbers = device["type"] == "p" or (
        os.major(st.st_rdev) == device.get("major", 0) and os.minor(st.st_rdev) == device.get("minor", 0))
    if not (same_type and same_numbers):
        raise MountError(f"linux.devices: {device['path']} already exists in the container "
                         "and is not the requested device")


def pivot(rootfs):
    """pivot_root into rootfs with the old root stacked underneath, then detach it."""
    os.chdir(rootfs)
    shim.pivot_root(".", ".")
    # The old root is now mounted on top of "/"; lazily detach it.  Its unmount
    # cannot reach the host: prepare() made every mount a slave before anything
    # else.  (An rslave here would also hit the new root's mounts and undo the
    # propagation options the config asked for.)
    shim.umount2(".", shim.MNT_DETACH)
    os.chdir("/")


def chroot_into(rootfs):
    os.chdir(rootfs)
    shim.mount(rootfs, "/", None, shim.MS_MOVE)
    os.chroot(".")
    os.chdir("/")


def _is_dev_null(fd):
    st = os.fstat(fd)
    return stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3


def bind_fd_onto(source_fd, target_fd, what):
    """Bind the file open as ``source_fd`` onto the one open as ``target_fd``, with the
    mount API: no path is resolved, so neither a symlink nor the container's own
    (possibly fake) /proc/self/fd can redirect the mount (CVE-2025-31133/-52565)."""
    try:
        tree = shim.open_tree("", shim.OPEN_TREE_CLONE | shim.OPEN_TREE_CLOEXEC | shim.AT_EMPTY_PATH, source_fd)
        try:
            shim.move_mount(tree, target_fd)
        finally:
            os.close(tree)
    except OSError as exc:
        raise MountError(f"{what}: {exc.strerror}") from None


def open_mount_point(path):
    """The mount point itself, never what a symlink there points to (after pivot_root)."""
    return os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)


def mask_paths(paths):
    """Hide paths: /dev/null over files, an empty read-only tmpfs over directories.

    /dev/null is checked to be the real null device before it is used and is
    bound fd to fd, so a rootfs whose /dev/null is a symlink or another node
    cannot turn masking into a host write (the CVE-2025-31133 pattern).
    """
    null_fd = None
    try:
        for path in paths:
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                _mount("tmpfs", path, "tmpfs", shim.MS_RDONLY, None, f"masking {path}")
                continue
            if null_fd is None:
                null_fd = os.open("/dev/null", os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
                if not _is_dev_null(null_fd):
                    raise MountError("masking paths: /dev/null in the container is not the null device")
            target = open_mount_point(path)
            try:
                bind_fd_onto(null_fd, target, f"masking {path}")
            finally:
                os.close(target)
    finally:
        if null_fd is not None:
            os.close(null_fd)


def readonly_paths(paths):
    for path in paths:
        if not os.path.lexists(path):
            continue
        what = f"making {path} read-only"
        _mount(path, path, None, shim.MS_BIND | shim.MS_REC, None, what)
        _mount(None, path, None, shim.MS_BIND | shim.MS_REMOUNT | shim.MS_RDONLY, None, what)


def prepare(config, rootfs, no_pivot, cgroup_paths, cgroupns, before_pivot=None):
    """Everything up to and including the switch into the rootfs; ``before_pivot``
    runs once mounts and /dev exist (the createRuntime/createContainer hook point)."""
    linux = config.get("linux") or {}
    propagation = linux.get("rootfsPropagation") or "rslave"
    # Slave first, whatever was asked: host mounts keep propagating in, and
    # nothing mounted here can propagate out to the host.
    shim.mount(None, "/", None, shim.MS_SLAVE | shim.MS_REC)
    _mount(rootfs, rootfs, None, shim.MS_BIND | shim.MS_REC, None, f"binding the rootfs {rootfs}")
    for entry in config.get("mounts") or ():
        mount_entry(rootfs, entry, cgroup_paths, cgroupns)
    setup_dev(rootfs)
    create_devices(rootfs, linux.get("devices") or ())
    if before_pivot is not None:
        before_pivot()
    if no_pivot:
        chroot_into(rootfs)
    else:
        pivot(rootfs)
    if propagation not in ("slave", "rslave"):
        shim.mount(None, "/", None, PROPAGATION_FLAGS[propagation])


def finish(config):
    """After the switch: masked and read-only paths, then a read-only root."""
    linux = config.get("linux") or {}
    mask_paths(linux.get("maskedPaths") or ())
    readonly_paths(linux.get("readonlyPaths") or ())
    if config["root"].get("readonly"):
        _mount(None, "/", None, shim.MS_BIND | shim.MS_REMOUNT | shim.MS_RDONLY, None,
               "making the root filesystem read-only")
