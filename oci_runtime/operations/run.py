"""`oci-runtime run [flags] <id>`: create, start, and (unless --detach) wait, delete and exit with the status."""
from oci_runtime import config as config_mod
from oci_runtime.lifecycle.run import run
from oci_runtime.operations.create import options_from


def main(g, opts, args):
    create_options = options_from(opts, g)
    return run(g["root"], args[0], config_mod.load(create_options.bundle), create_options,
               detach=bool(opts["detach"]), keep=bool(opts["keep"]))
