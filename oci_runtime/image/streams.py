"""A layer's bytes: the compression sniffed (gzip, zstd, none), the media types
we can read, and file contents copied with their holes kept.  layers.py applies
the tar entries these streams carry."""
import gzip
import os

from oci_runtime.image.blobs import CHUNK
from oci_runtime.image.errors import ImageError

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def decompressed(stream, what):
    """The layer's tar stream, by sniffing the compression (media types lie, e.g.
    docker-archive names none): gzip, zstd (needs the zstandard package) or none."""
    magic = stream.peek(4)[:4]
    if magic[:2] == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if magic == _ZSTD_MAGIC:
        try:
            import zstandard
        except ImportError:
            raise ImageError(f"{what} is zstd-compressed: install the zstandard Python package "
                             "(pip install zstandard) to unpack it") from None
        return zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True, closefd=False)
    return stream


def check_media_type(media_type, what):
    """Refuse what we would misread (encrypted layers, foreign layer types)."""
    if not media_type:
        return
    base, _, suffix = media_type.partition("+")
    known_bases = ("application/vnd.oci.image.layer.v1.tar",
                   "application/vnd.oci.image.layer.nondistributable.v1.tar",
                   "application/vnd.docker.image.rootfs.diff.tar",
                   "application/vnd.docker.image.rootfs.foreign.diff.tar")
    if base.removesuffix(".gzip") not in known_bases or suffix not in ("", "gzip", "zstd"):
        raise ImageError(f"{what}: unsupported layer media type {media_type}")


class _NoZstdError(Exception):
    """Never raised: stands in for zstandard.ZstdError when zstandard is absent
    (an except clause cannot name an empty tuple inside its tuple)."""


def zstd_errors():
    try:
        import zstandard
        return zstandard.ZstdError
    except ImportError:
        return _NoZstdError


_ZEROS = bytes(CHUNK)


def copy_keeping_holes(source, out_fd):
    """Copy a file's bytes; a whole chunk of zeros becomes a hole rather than a write,
    so sparse files (VM images, databases, GNU sparse tar members) stay sparse."""
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            break
        if chunk == _ZEROS[:len(chunk)]:
            os.lseek(out_fd, len(chunk), os.SEEK_CUR)
            continue
        view = memoryview(chunk)
        while view:
            view = view[os.write(out_fd, view):]
    os.ftruncate(out_fd, os.lseek(out_fd, 0, os.SEEK_CUR))  # a trailing hole still counts
