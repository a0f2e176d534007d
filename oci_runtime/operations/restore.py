"""`oci-runtime restore [flags] <id>`: runc's flags and checks; CRIU is not driven yet.

As runc: the id must be free and the bundle's config.json valid before CRIU is
asked; then criu.unsupported says why nothing is restored.  Nothing is created.
"""
import os

from oci_runtime import config as config_mod
from oci_runtime.errors import ContainerExists
from oci_runtime.operations import criu
from oci_runtime.state import container_dir


def main(g, opts, args):
    criu.check_shared(opts)
    if os.path.exists(container_dir(g["root"], args[0])):
        raise ContainerExists()
    config_mod.load(os.path.abspath(opts["bundle"] or "."))
    criu.unsupported(g, "restore")
