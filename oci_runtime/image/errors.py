"""The error of the image package: printed as is by the CLI (it is an OCIError)."""
from oci_runtime.errors import OCIError


class ImageError(OCIError):
    """The image is unreadable, corrupt, hostile or not for this machine."""
