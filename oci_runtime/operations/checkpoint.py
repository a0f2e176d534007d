"""`oci-runtime checkpoint [flags] <id>`: runc's flags and checks; CRIU is not driven yet.

The arguments are checked as runc checks them, then the container (it must exist
and be running or paused: runc's "Container cannot be checkpointed in created
state"), then criu.unsupported says why no checkpoint is made.  Nothing is
created: runc makes --image-path first; here there is nothing to put in it.
"""
from oci_runtime.errors import OCIError
from oci_runtime.lifecycle.query import state
from oci_runtime.operations import criu


def main(g, opts, args):
    criu.check_shared(opts)
    criu.check_parent_path(opts)
    criu.check_page_server(opts)
    status = state(g["root"], args[0])["status"]
    if status in ("created", "stopped"):
        raise OCIError(f"Container cannot be checkpointed in {status} state")
    criu.unsupported(g, "checkpoint")
