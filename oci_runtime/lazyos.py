"""``os`` for the command line, without running os.py until something needs more than ``posix``.

Why: importing ``os`` costs ~4.4 million instructions (callgrind), about a fifth
of the interpreter's own start-up: its body builds ``_collections_abc`` (thirty
abstract classes with their registrations) for ``os.environ``'s MutableMapping.
The short calls engines make on every container (`state`, `start`, `kill`,
`delete`) need none of that: every ``os`` function they use is the very same
object in the C module ``posix`` (os.py does ``from posix import *``), and
``os.path`` is ``posixpath``.

``install()`` (launch.main only; the Python API gets the real ``os``) puts a
stand-in module in ``sys.modules["os"]``.  An attribute it does not hold yet is
looked up once and then kept in the stand-in, so later lookups are plain:

- a ``posix`` name other than ``environ`` (posix.environ has bytes keys):
  ``posix``'s object, which is what ``os`` would give;
- ``path`` and the path constants (``sep``, ``devnull``, ...): ``posixpath``'s;
- anything else (``environ``, ``makedirs``, ``fsencode``, ``walk``, ``PathLike``...):
  the real ``os`` is imported then, replaces the stand-in in ``sys.modules``,
  and answers from then on.

The few os.py names the lifecycle paths need have equivalents here, so that
`create`, `run` and `exec` do not run os.py either: ``Environment.get`` is
``os.environ.get`` (from ``os.environ`` once the real os is loaded, else from
the same snapshot os.py decodes), ``fsencode`` and ``fsdecode`` are os's.

So the values are the ones ``os`` has; only the moment os.py runs changes.
``realize()`` imports the real one at once.  importguard.seal() (every child,
before it enters a container's namespaces) calls it where os.py is a file
(an interpreter built or run without frozen modules), so nothing is read from
a file after the seal; where os.py is frozen into the interpreter (Debian's
and python.org's builds), an os.py name needed after the seal comes from the
binary, which the seal allows and no rootfs can replace
(tests/test_lazyos.py seals a child both ways).
"""
import posix
import sys

_PATH_CONSTANTS = frozenset({"sep", "altsep", "curdir", "pardir", "extsep", "pathsep", "defpath", "devnull"})


class _LazyOs(type(sys)):
    """The stand-in: its attributes come from posix, posixpath, or the real os."""

    def __getattr__(self, name):
        if name.startswith("__"):  # __path__, __spec__...: what a plain module without them says
            raise AttributeError(f"module 'os' has no attribute {name!r}")
        if name != "environ" and hasattr(posix, name):
            value = getattr(posix, name)
        elif name == "path" or name in _PATH_CONSTANTS:
            import posixpath

            value = posixpath if name == "path" else getattr(posixpath, name)
        else:
            value = getattr(realize(), name)
        setattr(self, name, value)
        return value


def install():
    """The stand-in as ``os`` (and posixpath as ``os.path``), unless os is loaded already."""
    if "os" in sys.modules:
        return
    sys.modules["os"] = _LazyOs("os", __doc__)
    import posixpath  # imports "os" (the stand-in) itself

    sys.modules["os.path"] = posixpath


def realize():
    """The real ``os`` module, imported now if only the stand-in was there."""
    current = sys.modules.get("os")
    if current is not None and not isinstance(current, _LazyOs):
        return current
    if current is not None:
        del sys.modules["os"]
    try:
        import os
    except BaseException:
        if current is not None:
            sys.modules.setdefault("os", current)
        raise
    return os


class Environment:
    """``os.environ.get`` without importing os.py for it."""

    @staticmethod
    def get(name, default=None):
        current = sys.modules.get("os")
        if current is not None and not isinstance(current, _LazyOs):
            return current.environ.get(name, default)
        value = posix.environ.get(name.encode(sys.getfilesystemencoding(), "surrogateescape"))
        return default if value is None else value.decode(sys.getfilesystemencoding(), "surrogateescape")


def fsencode(filename):
    """os.fsencode: str (or a path object) as bytes in the file system encoding."""
    filename = posix.fspath(filename)
    if isinstance(filename, str):
        return filename.encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
    return filename


def fsdecode(filename):
    """os.fsdecode: bytes (or a path object) as str in the file system encoding."""
    filename = posix.fspath(filename)
    if isinstance(filename, bytes):
        return filename.decode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())
    return filename
