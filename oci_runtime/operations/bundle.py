"""`oci-runtime bundle --image PATH[:TAG|@DIGEST] --bundle DIR`: an OCI image (layout
directory or archive, or docker-archive) unpacked into a runtime bundle.

Thin on purpose: the work is in oci_runtime.image, imported here only when the
command runs, so no other command pays for it.
"""
from oci_runtime.errors import UsageError


def main(g, opts, args):
    if not opts["image"]:
        raise UsageError("bundle: --image PATH[:TAG|@sha256:DIGEST] is required")
    from oci_runtime.image.unpack import make_bundle

    make_bundle(opts["image"], opts["bundle"] or ".", rootless=opts["rootless"])
    return 0
