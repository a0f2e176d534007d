"""The command line's own modules, made without the import system.

For each module, Python's import system runs some 200,000 instructions of its
own (the path search, a spec, a loader, module locks, the bookkeeping in
importlib._bootstrap) before and after the module's code runs: measured with
callgrind, an empty module costs ~240,000 instructions to import and ~40,000
to make by hand (a module object, the compiled code from its ``.pyc`` run in
it).  `run` loads ~48 of the package's modules, so that is ~2 ms of CPU on every
`run`, and ~0.5 ms on every `state` (docs/performance-history.md, item 14).

``install()`` (called by launch.main, so only the command line, never the
Python API's callers) puts a front on ``__import__`` that makes an
``oci_runtime`` module the short way when all of this holds:

* it is a plain ``.py`` module or package beside its parent's ``__init__.py``;
* its ``__pycache__`` file is the one the import system itself would use now: the
  interpreter's magic number, timestamp-based, and the source's mtime and size
  as recorded in it (a stale or missing ``.pyc``, an extension module such as
  the cffi shim, anything else: the import system does it, unchanged).

The module gets what the import system would give it (``__spec__`` with a
SourceFileLoader, ``__file__``, ``__cached__``, ``__path__`` for a package), is
in ``sys.modules`` while its code runs, is removed again if that raises, and is
set on its parent package.

Extension modules (a ``.so``) are found without the finders too: a package
module with no ``.py`` (the cffi shim), and the few C modules of the
interpreter and site-packages the hot path imports (``_json`` on every command,
``_cffi_backend`` on create, run and exec; ``EXTENSIONS``).  The finders would
list and cache whole directories first (site-packages, the standard library,
lib-dynload: ~0.3 ms for ``_json`` alone); a stat of the few names the finder
would try, in its order, finds the same file.  The module is then loaded by
the import system's own ``_load`` with the spec the finder would have made.
Anything unusual on the way (a package or a ``.py`` of that name earlier on
sys.path, a path entry that is not a directory, an extra finder) leaves the
name to the import system.  Every other import goes to the interpreter's own
``__import__``.

Security: importguard.seal() calls ``uninstall()`` first, so a child that is about
to enter a container's namespaces has only the interpreter's import system, with
its imports refused (importguard.py); this front never reads a file there.
"""
import builtins
import marshal
import sys

_original_import = builtins.__import__
_imp = sys.modules["_imp"]
_bootstrap = sys.modules["_frozen_importlib"]
_external = sys.modules["_frozen_importlib_external"]
_posix = sys.modules["posix"]
_stat = _posix.stat
_MAGIC = _external.MAGIC_NUMBER
_PYC = "." + sys.implementation.cache_tag + ".pyc"
_PACKAGE = "oci_runtime"
_PREFIX = _PACKAGE + "."
_EXTENSION_SUFFIXES = _imp.extension_suffixes()  # in the finder's order
# Top-level C modules the command line's hot path imports (see the docstring).
EXTENSIONS = frozenset({"_json", "_cffi_backend"})
_S_IFMT, _S_IFDIR, _S_IFREG = 0o170000, 0o040000, 0o100000


def install():
    builtins.__import__ = _import


def uninstall():
    builtins.__import__ = _original_import


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and (name == _PACKAGE or name.startswith(_PREFIX)):
        module = sys.modules.get(name) or _make_locked(name)
        if module is not None:
            if not fromlist:
                return sys.modules[_PACKAGE]
            if hasattr(module, "__path__"):
                for item in fromlist:
                    if item != "*" and not hasattr(module, item) and _make_locked(name + "." + item) is None:
                        break  # not a module of ours: the import system says what it is
                else:
                    return module
            else:
                return module
    elif level == 0 and name in EXTENSIONS:
        module = sys.modules.get(name) or _load_extension_locked(name)
        if module is not None:
            return module
    return _original_import(name, globals, locals, fromlist, level)


def _read(path):
    """The whole file, with posix calls: open() would add an io object pair and five
    syscalls (fstat, isatty, two lseeks, a last read) for each module.  (fileio.py
    does the same for the runtime's files; this module imports nothing of the
    package, as it is what makes the package's modules.)"""
    fd = _posix.open(path, _posix.O_RDONLY | _posix.O_CLOEXEC)
    try:
        size = _posix.fstat(fd).st_size
        data = _posix.read(fd, size + 1)
        if len(data) != size:  # a short read, or a file that changed: read to its end
            chunks = [data]
            while chunk := _posix.read(fd, 65536):
                chunks.append(chunk)
            data = b"".join(chunks)
        return data
    finally:
        _posix.close(fd)


def _make_locked(name):
    _imp.acquire_lock()  # the interpreter's import lock: one thread makes a module, once
    try:
        return _make(name)
    finally:
        _imp.release_lock()


def _make(name):
    """The module ``name`` made from its current .pyc, or None to leave it to the
    import system.  One being made already (an import cycle) is returned as it is."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    parent_name, _, leaf = name.rpartition(".")
    if parent_name:
        parent = _make(parent_name)
        if parent is None:
            return None
        directory = parent.__path__[0]
    else:
        return None  # the package itself was imported the usual way (launch.py is in it)
    source = f"{directory}/{leaf}.py"
    try:
        status = _stat(source)
        package_dir = None
    except OSError:
        source = f"{directory}/{leaf}/__init__.py"
        try:
            status = _stat(source)
        except OSError:
            return _extension_in(directory, name, parent, leaf)  # or a namespace, or nothing
        package_dir = f"{directory}/{leaf}"
    cached = f"{source.rpartition('/')[0]}/__pycache__/{source.rpartition('/')[2][:-3]}{_PYC}"
    try:
        data = _read(cached)
    except OSError:
        return None
    if (len(data) < 16 or data[:4] != _MAGIC or data[4:8] != b"\0\0\0\0"
            or int.from_bytes(data[8:12], "little") != int(status.st_mtime) & 0xFFFFFFFF
            or int.from_bytes(data[12:16], "little") != status.st_size & 0xFFFFFFFF):
        return None  # stale, hash-based or not ours: the import system recompiles or checks it
    code = marshal.loads(memoryview(data)[16:])
    loader = _external.SourceFileLoader(name, source)
    spec = _bootstrap.ModuleSpec(name, loader, origin=source, is_package=package_dir is not None)
    spec.cached = cached
    spec.has_location = True
    module = type(sys)(name)
    module.__spec__, module.__loader__, module.__file__, module.__cached__ = spec, loader, source, cached
    if package_dir is not None:
        module.__path__ = spec.submodule_search_locations = [package_dir]
        module.__package__ = name
    else:
        module.__package__ = parent_name
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    module = sys.modules[name]
    setattr(parent, leaf, module)
    return module


def _mode(path):
    try:
        return _stat(path).st_mode & _S_IFMT
    except OSError:
        return None


def _extension_file(directory, leaf):
    """``directory/leaf`` + the first extension suffix that is a file, as the finder
    tries them; None if there is none."""
    for suffix in _EXTENSION_SUFFIXES:
        if _mode(f"{directory}/{leaf}{suffix}") == _S_IFREG:
            return f"{directory}/{leaf}{suffix}"
    return None


def _load(name, path):
    """What the import system does with the finder's spec for an extension module."""
    loader = _external.ExtensionFileLoader(name, path)
    return _bootstrap._load(_external.spec_from_file_location(name, path, loader=loader))


def _extension_in(directory, name, parent, leaf):
    """One of our package's extension modules (the cffi shim), or None."""
    path = _extension_file(directory, leaf)
    if path is None:
        return None
    module = _load(name, path)
    setattr(parent, leaf, module)
    return module


def _load_extension_locked(name):
    _imp.acquire_lock()
    try:
        module = sys.modules.get(name)
        if module is not None:
            return module
        path = _find_top_level_extension(name)
        return _load(name, path) if path is not None else None
    finally:
        _imp.release_lock()


def _find_top_level_extension(name):
    """The file the import system would load for the top-level ``name`` when that is
    an extension module in a directory on sys.path; None for anything else (then
    the import system decides)."""
    if (len(sys.meta_path) != 3 or sys.meta_path[-1] is not _external.PathFinder
            or name in sys.builtin_module_names or _imp.is_frozen(name)):
        return None
    for entry in sys.path:
        mode = _mode(entry) if entry else None
        if mode is None and entry:
            continue  # no such entry: the finder skips it too
        if mode != _S_IFDIR:
            return None  # the current directory, a zip file, ...: not decided here
        if _mode(f"{entry}/{name}") is not None:
            return None  # a package or a namespace portion
        path = _extension_file(entry, name)
        if path is not None:
            return path
        if _mode(f"{entry}/{name}.py") is not None or _mode(f"{entry}/{name}.pyc") is not None:
            return None
    return None
