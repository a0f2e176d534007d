"""`oci-runtime kill [--all] <id> [signal]`: signal the init (or every process); SIGTERM by default."""
from oci_runtime.lifecycle.kill import kill, parse_signal


def main(g, opts, args):
    signum = parse_signal(args[1] if len(args) > 1 else "SIGTERM")  # a bad name fails before the lookup
    kill(g["root"], args[0], signum, all_processes=bool(opts["all"]))
    return 0
