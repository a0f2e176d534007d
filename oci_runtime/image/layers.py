"""Applying layer tars to a rootfs the way the image-spec says, without ever
writing outside the rootfs, in one streaming pass.

Safety: every entry's *parent* directory is opened with openat2(RESOLVE_IN_ROOT |
RESOLVE_NO_MAGICLINKS) from an fd on the rootfs, so symlinks met on the way
(``lib -> /usr/lib``, ``evil -> /``, ``x -> ../../..``) are followed as if the
rootfs were "/" and can never lead out of it.  The entry's own last component is
never followed: it is created, replaced or removed with *at() calls relative to
that parent fd (O_EXCL|O_NOFOLLOW for files).  Names with ".." are refused
outright (they are never needed), hardlink targets are resolved in the same
confined way (so a link can only share an inode already inside the rootfs), and
device nodes and ownership are applied only when running as root.

Whiteouts: ``.wh.NAME`` removes NAME and ``.wh..wh..opq`` empties its directory,
both of what *lower* layers made: entries of the same layer are kept whatever
their order in the tar.  Directory modes and mtimes are applied when the layer
ends, so creating their children does not undo them.
"""
import errno
import gzip
import io
import os
import shutil
import stat
import tarfile

from oci_runtime import shim
from oci_runtime.image.blobs import CHUNK, VerifiedReader
from oci_runtime.image.errors import ImageError
from oci_runtime.image.streams import check_media_type, copy_keeping_holes, decompressed, zstd_errors

WHITEOUT_PREFIX = ".wh."
OPAQUE = ".wh..wh..opq"
_RESOLVE = shim.RESOLVE_IN_ROOT | shim.RESOLVE_NO_MAGICLINKS
# Extended attributes that would change how the kernel treats the tree if the
# rootfs later became an overlayfs layer: data from an image must not set them.
_REFUSED_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.")


class Warnings:
    """What was skipped, counted by kind, so the user gets one line per kind."""

    def __init__(self):
        self.counts = {}

    def add(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def lines(self):
        return [f"{kind}: {n} entr{'y' if n == 1 else 'ies'}" for kind, n in sorted(self.counts.items())]


def apply_layer(layer, root_fd, warnings, on_read=None):
    """Stream ``layer`` (a layout.Layer) into the rootfs; every byte is hashed on the
    way and checked against the manifest digest and the config diff_id at the end."""
    what = f"layer {layer.name}"
    check_media_type(layer.media_type, what)
    raw = VerifiedReader(layer.open(), layer.digest, layer.size, "layer", on_read)
    with raw:
        buffered = io.BufferedReader(raw, CHUNK)
        tar_bytes = VerifiedReader(decompressed(buffered, what), layer.diff_id, None,
                                   "layer (uncompressed, diff_id)")
        try:
            Applier(root_fd, warnings).apply(tar_bytes)
            tar_bytes.finish()
        except (tarfile.TarError, EOFError, gzip.BadGzipFile, zstd_errors()) as exc:
            raise ImageError(f"{what}: corrupt layer: {exc}") from None
        raw.finish()


def _xattrs_of(pax_headers):
    """name -> bytes from both pax spellings: GNU tar/Go's "SCHILY.xattr.NAME" (raw
    value) and bsdtar's "LIBARCHIVE.xattr.URL-ENCODED-NAME" (base64 value).  bsdtar
    writes both; they agree, so the first seen wins."""
    found = {}
    for key, value in pax_headers.items():
        if key.startswith("SCHILY.xattr."):
            found.setdefault(key[len("SCHILY.xattr."):], value.encode("utf-8", "surrogateescape"))
        elif key.startswith("LIBARCHIVE.xattr."):
            import base64
            import binascii
            from urllib.parse import unquote_to_bytes

            name = os.fsdecode(unquote_to_bytes(key[len("LIBARCHIVE.xattr."):]))
            try:
                found.setdefault(name, base64.b64decode(value.encode("ascii", "surrogateescape"), validate=True))
            except (binascii.Error, ValueError):
                raise ImageError(f"tar entry: xattr {name!r}: LIBARCHIVE value is not base64") from None
    return found


# ------------------------------------------------------------------ paths
def entry_parts(name, what="entry"):
    """The components of a tar path; "/" and "." are dropped, ".." is refused."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ImageError(f"layer {what} {name!r}: '..' would leave the rootfs; refusing the layer")
    return parts


def _lstat(name, dir_fd):
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _remove(name, dir_fd, st):
    """Remove a node (a whole tree for a directory) without following any symlink."""
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dir_fd)
    else:
        os.unlink(name, dir_fd=dir_fd)


class Applier:
    """One layer's application into the rootfs open at ``root_fd``."""

    def __init__(self, root_fd, warnings):
        self.root_fd = root_fd
        self.root_path = os.readlink(f"/proc/self/fd/{root_fd}")
        self.warnings = warnings
        self.is_root = os.geteuid() == 0
        self.created = set()   # paths this layer made: whiteouts leave them alone
        self.dirs = []         # (path, member) whose metadata waits for the layer's end

    def apply(self, fileobj):
        tar = tarfile.open(fileobj=fileobj, mode="r|", errorlevel=2)
        try:
            while (member := tar.next()) is not None:
                tar.members.clear()  # stream mode keeps every header otherwise
                self.entry(tar, member)
        finally:
            tar.close()
        self.finish_dirs()

    # -------------------------------------------------------------- dispatch
    def entry(self, tar, member):
        parts = entry_parts(member.name)
        if not parts:
            if not member.isdir():
                raise ImageError(f"layer entry {member.name!r}: the root can only be a directory")
            self.dirs.append(("", member))
            return
        *parent, base = parts
        if base == OPAQUE:
            self.opaque(parent)
        elif base.startswith(WHITEOUT_PREFIX):
            if not base.startswith(".wh..wh."):  # other .wh..wh. names are aufs bookkeeping
                self.whiteout(parent, base[len(WHITEOUT_PREFIX):], member.name)
        else:
            self.node(tar, member, parent, base)

    def _mark_created(self, parts):
        for i in range(1, len(parts) + 1):
            self.created.add("/".join(parts[:i]))

    # -------------------------------------------------------------- directories
    def open_dir(self, parts, create, hops=40):
        """An O_PATH fd on the directory ``parts`` resolved inside the rootfs; missing
        directories are made (0755) when ``create``, also where a symlink dangles
        (its target is made, inside the rootfs); a non-directory is an error."""
        path = "/".join(parts) or "."
        try:
            return self._open_in_root(path)
        except FileNotFoundError:
            if not create or not parts:
                raise
        except NotADirectoryError:
            raise ImageError(f"layer entry under {path!r}: a parent is not a directory") from None
        parent_fd = self.open_dir(parts[:-1], create, hops)
        try:
            os.mkdir(parts[-1], 0o755, dir_fd=parent_fd)
        except FileExistsError:
            if not stat.S_ISLNK(os.stat(parts[-1], dir_fd=parent_fd, follow_symlinks=False).st_mode):
                raise ImageError(f"layer entry under {path!r}: a parent is not a directory") from None
            if hops <= 0:
                raise ImageError(f"layer entry under {path!r}: too many levels of symbolic links") from None
            target = self._link_target_parts(parent_fd, parts[-1])
            os.close(self.open_dir(target, create, hops - 1))
        finally:
            os.close(parent_fd)
        try:
            return self._open_in_root(path)
        except (FileNotFoundError, NotADirectoryError):
            raise ImageError(f"layer entry under {path!r}: a parent is not a directory") from None

    def _open_in_root(self, path):
        try:
            return shim.openat2(self.root_fd, path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, 0, _RESOLVE)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EXDEV):
                raise ImageError(f"layer entry under {path!r}: too many levels of symbolic links "
                                 "or a magic link") from None
            raise

    def _link_target_parts(self, dir_fd, name):
        """Where the dangling symlink ``name`` in ``dir_fd`` points, as rootfs components,
        read the way RESOLVE_IN_ROOT would follow it ("/" and ".." stop at the root)."""
        target = os.readlink(name, dir_fd=dir_fd)
        if target.startswith("/"):
            base = []
        else:
            real = os.readlink(f"/proc/self/fd/{dir_fd}")
            relative = os.path.relpath(real, self.root_path)
            base = [] if relative == "." else relative.split("/")
        for part in target.split("/"):
            if part == "..":
                if base:
                    base.pop()
            elif part not in ("", "."):
                base.append(part)
        return base

    # -------------------------------------------------------------- whiteouts
    def whiteout(self, parent, name, raw_name):
        if name in ("", ".", "..") or "/" in name:
            raise ImageError(f"layer whiteout {raw_name!r}: invalid name; refusing the layer")
        if "/".join(parent + [name]) in self.created:
            return
        try:
            dir_fd = self.open_dir(parent, create=False)
        except (FileNotFoundError, ImageError):
            return  # nothing below to hide
        try:
            st = _lstat(name, dir_fd)
            if st is not None:
                _remove(name, dir_fd, st)
        finally:
            os.close(dir_fd)

    def opaque(self, parent):
        prefix = "/".join(parent)
        path_fd = self.open_dir(parent, create=True)
        try:
            list_fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=path_fd)
            try:
                children = os.listdir(list_fd)
            finally:
                os.close(list_fd)
            for child in children:
                if f"{prefix}/{child}".lstrip("/") not in self.created:
                    st = _lstat(child, path_fd)
                    if st is not None:
                        _remove(child, path_fd, st)
        finally:
            os.close(path_fd)
        self._mark_created(parent)

    # -------------------------------------------------------------- nodes
    def node(self, tar, member, parent, base):
        parts = parent + [base]
        path = "/".join(parts)
        if member.islnk() and "/".join(entry_parts(member.linkname, "hardlink target")) == path:
            return  # a hardlink to itself: nothing to do
        dir_fd = self.open_dir(parent, create=True)
        try:
            existing = _lstat(base, dir_fd)
            if existing is not None:
                if member.isdir() and stat.S_ISDIR(existing.st_mode):
                    self.dirs.append((path, member))
                    self._mark_created(parts)
                    return
                _remove(base, dir_fd, existing)
            self.create(tar, member, dir_fd, base, path)
        finally:
            os.close(dir_fd)
        self._mark_created(parts)

    def create(self, tar, member, dir_fd, base, path):
        if member.isreg():
            self.regular_file(tar, member, dir_fd, base)
            return
        if member.isdir():
            os.mkdir(base, 0o700, dir_fd=dir_fd)
            self.dirs.append((path, member))
            return
        if member.islnk():
            self.hardlink(member, dir_fd, base)
            return
        if member.issym():
            os.symlink(member.linkname, base, dir_fd=dir_fd)
        elif member.ischr() or member.isblk():
            if not self.device(member, dir_fd, base):
                return
        elif member.isfifo():
            os.mkfifo(base, 0o600, dir_fd=dir_fd)
        else:
            self.warnings.add(f"skipped entries of unsupported tar type {member.type!r}")
            return
        self.metadata_at(member, dir_fd, base)

    def regular_file(self, tar, member, dir_fd, base):
        fd = os.open(base, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600, dir_fd=dir_fd)
        with open(fd, "wb", buffering=0) as out:
            copy_keeping_holes(tar.extractfile(member), out.fileno())
            self.metadata_fd(member, out.fileno())

    def hardlink(self, member, dir_fd, base):
        target = entry_parts(member.linkname, "hardlink target")
        if not target:
            raise ImageError(f"layer entry {member.name!r}: a hardlink to the root directory")
        try:
            target_dir = self.open_dir(target[:-1], create=False)
        except (FileNotFoundError, ImageError):
            raise ImageError(f"layer entry {member.name!r}: hardlink target {member.linkname!r} "
                             "is not in the rootfs") from None
        try:
            os.link(target[-1], base, src_dir_fd=target_dir, dst_dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            raise ImageError(f"layer entry {member.name!r}: hardlink target {member.linkname!r} "
                             "is not in the rootfs") from None
        except PermissionError:
            raise ImageError(f"layer entry {member.name!r}: cannot hardlink to {member.linkname!r} "
                             "(a directory?)") from None
        finally:
            os.close(target_dir)

    def device(self, member, dir_fd, base):
        if not self.is_root:
            self.warnings.add("skipped device nodes (not root)")
            return False
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
        try:
            os.mknod(base, kind | 0o600, os.makedev(member.devmajor, member.devminor), dir_fd=dir_fd)
        except PermissionError:
            self.warnings.add("skipped device nodes (mknod not permitted here)")
            return False
        return True

    # -------------------------------------------------------------- metadata
    def metadata_fd(self, member, fd):
        """Owner, then mode (chown clears set-id bits), xattrs, then times."""
        if self.is_root:
            os.fchown(fd, member.uid, member.gid)
        os.fchmod(fd, member.mode & 0o7777)
        self.xattrs(member, lambda name, value: os.setxattr(fd, name, value))
        ns = _ns(member.mtime)
        os.utime(fd, ns=(ns, ns))

    def metadata_at(self, member, dir_fd, base):
        """The same for nodes that cannot be opened for writing (symlinks, fifos, devices)."""
        if self.is_root:
            os.chown(base, member.uid, member.gid, dir_fd=dir_fd, follow_symlinks=False)
        if not member.issym():  # a symlink's mode means nothing on Linux
            os.chmod(base, member.mode & 0o7777, dir_fd=dir_fd)
        proc_path = f"/proc/self/fd/{dir_fd}/{base}"
        self.xattrs(member, lambda name, value: os.setxattr(proc_path, name, value, follow_symlinks=False))
        ns = _ns(member.mtime)
        os.utime(base, ns=(ns, ns), dir_fd=dir_fd, follow_symlinks=False)

    def xattrs(self, member, set_one):
        for name, value in _xattrs_of(member.pax_headers).items():
            if name.startswith(_REFUSED_XATTR_PREFIXES):
                self.warnings.add("refused overlayfs xattrs")
                continue
            try:
                set_one(name, value)
            except OSError as exc:
                self.warnings.add(f"xattrs not set ({exc.strerror})")

    def finish_dirs(self):
        """Directory owners, modes, xattrs and mtimes, once their children exist."""
        for path, member in self.dirs:
            try:
                fd = shim.openat2(self.root_fd, path or ".",
                                  os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, 0, _RESOLVE)
            except (FileNotFoundError, NotADirectoryError, OSError):
                continue  # replaced or removed later in the same layer
            try:
                self.metadata_fd(member, fd)
            finally:
                os.close(fd)
        self.dirs.clear()


def _ns(mtime):
    return int(mtime * 1_000_000_000) if isinstance(mtime, float) else int(mtime) * 1_000_000_000
