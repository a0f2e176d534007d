"""Image -> bundle: choose the image, apply its layers into BUNDLE/rootfs, write
BUNDLE/config.json.  All or nothing: on any failure (a digest mismatch found at
the end of a layer, a hostile entry, ^C) what this run created is removed."""
import json
import os
import shutil

from oci_runtime.image import imageconfig, layers, layout
from oci_runtime.image.errors import ImageError
from oci_runtime.image.progress import Progress


def make_bundle(reference, bundle, rootless=False, progress_stream=None, warn=None):
    """Unpack ``reference`` into the bundle directory ``bundle``; returns the Image."""
    created_bundle = _prepare(bundle)
    rootfs = os.path.join(bundle, "rootfs")
    try:
        os.mkdir(rootfs, 0o755)
        image = layout.load_image(reference)
        try:
            _unpack(image, rootfs, progress_stream, warn)
        finally:
            image.source.close()
        config = imageconfig.runtime_config(image.config, rootfs, rootless=rootless)
        _write_config(bundle, config)
        return image
    except BaseException:
        _undo(bundle, created_bundle)
        raise


def _prepare(bundle):
    """True if we made the bundle directory (then failure removes all of it)."""
    if os.path.lexists(os.path.join(bundle, "rootfs")) or os.path.lexists(os.path.join(bundle, "config.json")):
        raise ImageError(f"bundle {bundle} already has a rootfs or config.json: remove them first")
    if os.path.isdir(bundle):
        return False
    if os.path.lexists(bundle):
        raise ImageError(f"bundle {bundle} exists and is not a directory")
    os.makedirs(bundle, 0o755)
    return True


def _undo(bundle, created_bundle):
    if created_bundle:
        shutil.rmtree(bundle, ignore_errors=True)
        return
    shutil.rmtree(os.path.join(bundle, "rootfs"), ignore_errors=True)
    for name in ("config.json", "config.json.tmp"):
        try:
            os.unlink(os.path.join(bundle, name))
        except FileNotFoundError:
            pass


def _unpack(image, rootfs, progress_stream, warn):
    progress = Progress(len(image.layers), progress_stream)
    skipped = layers.Warnings()
    root_fd = os.open(rootfs, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for number, layer in enumerate(image.layers, 1):
            progress.start_layer(number, layer.name, layer.size)
            layers.apply_layer(layer, root_fd, skipped, progress.advance)
    finally:
        os.close(root_fd)
        progress.end()
    for line in skipped.lines():
        (warn or _stderr)(f"warning: {line}")


def _stderr(text):
    import sys
    sys.stderr.write(text + "\n")


def _write_config(bundle, config):
    tmp = os.path.join(bundle, "config.json.tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(config, indent="\t") + "\n")
    os.rename(tmp, os.path.join(bundle, "config.json"))
