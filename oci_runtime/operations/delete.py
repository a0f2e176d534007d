"""`oci-runtime delete [--force] <id>`: remove a container and all it holds.

A stopped or created container is removed (a created one is killed first, as
runc does); a running or paused one only with --force, which kills every
process in its cgroup first.  With --force a missing container is not an
error, so engines can clean up idempotently.
"""
from oci_runtime.lifecycle.delete import delete


def main(g, opts, args):
    delete(g["root"], args[0], force=bool(opts["force"]))
    return 0
