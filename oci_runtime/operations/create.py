"""`oci-runtime create [flags] <id>`: set up a container whose init waits for `start`."""
import os

from oci_runtime import config as config_mod, rootless
from oci_runtime.lifecycle.create import CreateOptions, create


def options_from(opts, g):
    """CreateOptions from the flags create and run share (and the global ``g``)."""
    return CreateOptions(
        bundle=opts["bundle"] or os.getcwd(),
        console_socket=opts["console_socket"],
        pid_file=opts["pid_file"],
        no_pivot=opts["no_pivot"],
        no_new_keyring=opts["no_new_keyring"],
        preserve_fds=opts["preserve_fds"] or 0,
        systemd_cgroup=bool(g["systemd_cgroup"]),
        rootless=rootless.detect(g["rootless"]),
    )


def main(g, opts, args):
    create_options = options_from(opts, g)
    create(g["root"], args[0], config_mod.load(create_options.bundle), create_options)
    return 0
