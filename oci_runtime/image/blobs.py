"""Blobs read as streams whose sha256 digest and size are checked as the bytes pass.

Why a wrapping reader rather than hashing the file first: layers may be large and
may live inside an archive; reading them twice would double the I/O and a check
done before use could be raced.  Here the bytes that are hashed are exactly the
bytes that are used, and the verdict is given when the stream ends (``finish``).
Bytes beyond the declared size are refused at once, so a lying descriptor cannot
make us read without end.
"""
import hashlib
import io
import re

from oci_runtime.image.errors import ImageError

# The registered algorithms of image-spec descriptor.md: sha256 (MUST) and sha512 (SHOULD).
_DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")
# Small JSON documents (index, manifests, configs) are read whole; this bounds them.
MAX_DOCUMENT_SIZE = 16 << 20
CHUNK = 1 << 20


def check_digest(digest):
    """The digest if it is a well-formed sha256 or sha512 digest; other algorithms
    (unregistered in the image spec) are refused rather than trusted unverified."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise ImageError(f"unsupported or malformed digest {digest!r} "
                         "(sha256:<64 hex> or sha512:<128 hex> are supported)")
    return digest


def _hasher(digest):
    """The hash that verifies ``digest`` (sha256 when only the size is checked)."""
    return hashlib.sha512() if digest and digest.startswith("sha512:") else hashlib.sha256()


class VerifiedReader(io.RawIOBase):
    """A read-only stream over ``raw`` that hashes what it returns and checks the total
    against ``size`` (None: unknown) and ``digest`` when the end is reached."""

    def __init__(self, raw, digest, size=None, what="blob", on_read=None):
        self._raw = raw
        self.digest = digest if digest is None else check_digest(digest)
        self.size = size
        self.what = what
        self.count = 0
        self._hash = _hasher(self.digest)
        self._on_read = on_read
        self.verified = False

    def readable(self):
        return True

    def readinto(self, buffer):
        view = memoryview(buffer)
        if self.size is not None:
            # Ask for one byte more than is left so an over-long blob is noticed.
            view = view[: max(0, min(len(view), self.size - self.count + 1))]
        data = self._raw.read(len(view)) if len(view) else b""
        if not data:
            self._check_end()
            return 0
        n = len(data)
        self.count += n
        if self.size is not None and self.count > self.size:
            raise ImageError(f"{self.what} {self.digest}: larger than its declared size {self.size}")
        self._hash.update(data)
        view[:n] = data
        if self._on_read:
            self._on_read(n)
        return n

    def _check_end(self):
        if self.verified:
            return
        if self.size is not None and self.count != self.size:
            raise ImageError(f"{self.what} {self.digest}: size {self.count} but the descriptor says {self.size}")
        if self.digest is None:  # counted only: its content is verified at another level
            self.verified = True
            return
        actual = f"{self._hash.name}:{self._hash.hexdigest()}"
        if actual != self.digest:
            raise ImageError(f"{self.what} {self.digest}: digest mismatch (content hashes to {actual})")
        self.verified = True

    def finish(self):
        """Read what the consumer left (tar padding, trailing bytes) and verify."""
        while self.readinto(bytearray(CHUNK)):
            pass
        self._check_end()

    def close(self):
        try:
            self._raw.close()
        finally:
            super().close()


def read_document(raw, digest, size, what):
    """A small blob read whole, verified before anyone parses it."""
    if size is not None and size > MAX_DOCUMENT_SIZE:
        raise ImageError(f"{what} {digest}: {size} bytes is too large for a JSON document")
    reader = VerifiedReader(raw, digest, size, what)
    chunks, total = [], 0
    with reader:
        while chunk := reader.read(CHUNK):
            total += len(chunk)
            if total > MAX_DOCUMENT_SIZE:
                raise ImageError(f"{what} {digest}: too large for a JSON document")
            chunks.append(chunk)
        reader.finish()
    return b"".join(chunks)
