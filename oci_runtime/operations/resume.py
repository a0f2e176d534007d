"""`oci-runtime resume <id>`: thaw a paused container (see pause.py)."""
from oci_runtime.operations.pause import resume

main = resume
