"""Compiled seccomp programs, kept by the digest of what made them.

Why: libseccomp takes ~16 ms here to turn podman's default profile (434 names
on three architectures) into classic BPF (the rule adds ~4 ms, the export ~7
ms, the rest our ENOSYS stub and the calls), on every `create` and `exec`, on
the critical path; and an engine gives every container the same profile
(podman's, Docker's, the CRI's RuntimeDefault).  So the program made once is
kept, and a later create with the same profile reads ~10-20 KB instead.

What makes a program, and so its key (SHA-256 over all of it): this cache's
format, the source of the compiler (seccomp.py: a change to it is a new key),
libseccomp's version and the native architecture, and the profile as the
config gave it (compact JSON in the config's own order: the same profile
written in another key order is a miss, never a wrong hit).  The flags it is
loaded with are not kept: seccomp.filter_flags reads them off the profile.

Where: beside a state root, never in one (a directory in a --root is a
container to anyone who lists it): ``/run/oci-runtime.cache/seccomp`` for the
host's root (one cache for every --root, as the cgroup parents registry is
one list), ``<--root>.cache/seccomp`` for a rootless caller.  At most
MAX_ENTRIES programs; storing one more removes the least recently stored.

Trust: a program from here is loaded into the container as its filter, so only
files this user made are read: the directory must be its own and writable by
no one else (0700), the entry a regular file of its own, not group- or
world-writable, opened without following a symlink; its first 32 bytes are
the SHA-256 of the program after them (a torn or truncated entry is a miss),
and the program must be a whole number of 8-byte instructions, at most the
kernel's 4096.  Anything else is a miss, and the program is compiled and
stored anew.  Who can write files as this user in that directory could also
replace the runtime itself: nothing is trusted here that is not trusted already.
"""
import os
import stat

from oci_runtime import fastjson as json
from oci_runtime.fileio import read_bytes

FORMAT = b"oci-runtime seccomp cache 1\n"
HOST_ROOT = "/run/oci-runtime"
MAX_ENTRIES = 64
_MAX_PROGRAM = 4096 * 8  # BPF_MAXINSNS struct sock_filter entries
_DIGEST = 32


def directory(root):
    """The cache directory for a runtime using ``root`` (see the module docstring)."""
    from oci_runtime import rootless

    base = HOST_ROOT if rootless.host_root() else os.path.abspath(root)
    return base.rstrip("/") + ".cache/seccomp"


def _sha256(data):
    from _sha256 import sha256  # the interpreter's own (hashlib would load OpenSSL: milliseconds)

    return sha256(data).digest()


def key(profile):
    """The hex digest naming the program ``profile`` compiles to (see the module docstring)."""
    from oci_runtime import seccomp
    from oci_runtime._libseccomp import lib

    version = lib.seccomp_version()
    facts = [FORMAT, _sha256(read_bytes(seccomp.__file__)),
             f"{version.major}.{version.minor}.{version.micro} {lib.seccomp_arch_native()}\n".encode(),
             json.dumps(profile).encode()]
    return _sha256(b"".join(facts)).hex()


def load(cache_dir, name):
    """The program stored under ``name``, or None (a miss, or an entry not to be trusted)."""
    try:
        dir_fd = os.open(cache_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not _own(os.fstat(dir_fd), stat.S_ISDIR, 0o077):
            return None
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        except OSError:
            return None
        try:
            status = os.fstat(fd)
            if not _own(status, stat.S_ISREG, 0o022) or not _DIGEST < status.st_size <= _DIGEST + _MAX_PROGRAM:
                return None
            data = os.read(fd, status.st_size + 1)
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)
    program = data[_DIGEST:]
    if len(data) != status.st_size or len(program) % 8 or data[:_DIGEST] != _sha256(program):
        return None
    return program


def _own(status, is_kind, forbidden_bits):
    return is_kind(status.st_mode) and status.st_uid == os.geteuid() and not status.st_mode & forbidden_bits


def store(cache_dir, name, program):
    """Keep ``program`` under ``name`` (best effort: a cache that cannot be written is
    only slower).  The entry appears whole or not at all (atomicfile.replace)."""
    from oci_runtime import atomicfile

    try:
        try:
            os.mkdir(cache_dir, 0o700)
        except FileExistsError:
            pass
        except FileNotFoundError:  # the first time only: its parent too (os.py's makedirs: lazyos.py)
            os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        if not _own(os.lstat(cache_dir), stat.S_ISDIR, 0o077):
            return
        atomicfile.replace(os.path.join(cache_dir, name), _sha256(program) + program, 0o600)
        _evict(cache_dir, keep=name)
    except OSError:
        pass


def _evict(cache_dir, keep):
    """Down to MAX_ENTRIES: the least recently stored go first."""
    names = [n for n in os.listdir(cache_dir) if n != keep and len(n) == 2 * _DIGEST]
    if len(names) < MAX_ENTRIES:
        return
    dated = []
    for name in names:
        try:
            dated.append((os.lstat(os.path.join(cache_dir, name)).st_mtime_ns, name))
        except FileNotFoundError:
            pass
    for _, name in sorted(dated)[:len(dated) - (MAX_ENTRIES - 1)]:
        try:
            os.unlink(os.path.join(cache_dir, name))
        except FileNotFoundError:
            pass
