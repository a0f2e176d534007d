"""No Python import after a child starts entering the container's namespaces.

`import x` reads files found through ``sys.path`` (/usr/lib/python3.11, the
venv's site-packages).  Once a process has joined the container's mount
namespace (exec's setns) or switched into its rootfs (create's pivot_root),
those paths are the *image's*: a module imported for the first time there --
a lazy import in an error path, say -- would run the image's code as root
with the runtime's privileges.

So every forked child of create and exec calls ``seal()`` before it joins or
creates any namespace (process/spawn.child_guard).  From then on only modules
already loaded, built into the interpreter or frozen into it can be
imported; anything else fails loudly with an ImportError that names the
module, and the child reports it as its error.  What the children need is
imported before the seal (lifecycle.create.Spawn.load_modules, lifecycle/execute.py).
Test: tests/security/test_no_imports_inside.py plants a module under every
stdlib and oci_runtime name in the rootfs and drives every subcommand.
"""
import sys


class RefuseImports:
    """A meta path finder that refuses every module it is asked about."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        raise ImportError(f"import of {name!r} refused: oci-runtime's processes import nothing once they "
                          "enter a container's namespaces (docs/security.md); this is a bug in oci-runtime",
                          name=name)


def _in_interpreter(finder):
    """BuiltinImporter and FrozenImporter: their modules are inside the interpreter
    binary, no file is read."""
    return getattr(finder, "__module__", "") == "_frozen_importlib"


def seal():
    lazy = sys.modules.get("oci_runtime.lazyos")
    if lazy is not None and not sys.modules["_imp"].is_frozen("os"):
        lazy.realize()  # os.py is a file in this interpreter: load it now, while imports may read files
    fast = sys.modules.get("oci_runtime.fastimport")
    if fast is not None:
        fast.uninstall()  # the interpreter's own import system, which the finder below refuses
    sys.meta_path[:] = [finder for finder in sys.meta_path if _in_interpreter(finder)] + [RefuseImports]
    sys.path[:] = []
    sys.path_hooks[:] = []
    sys.path_importer_cache.clear()
