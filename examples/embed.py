"""Run an OCI bundle through oci-runtime's Python API and print what the container printed.

    sudo python3 examples/embed.py BUNDLE [--root DIR]

The container's stdout and stderr are this process's (as with `oci-runtime run`);
they are redirected to a file here so the output can be printed after the exit,
followed by "exit status N".  Needs root, like any runtime.  BUNDLE is a
directory with config.json and the rootfs (e.g. bundles/build/busybox after
`make bundle`), whose process should not ask for a terminal.
"""
import argparse
import os
import sys
import tempfile

from oci_runtime.api import OCIError, Runtime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("--root", default="/run/oci-runtime-embed", help="state directory (default %(default)s)")
    args = parser.parse_args()
    runtime = Runtime(root=args.root)
    container_id = f"embed-{os.getpid()}"
    with tempfile.TemporaryFile() as output:
        saved = os.dup(1), os.dup(2)
        os.dup2(output.fileno(), 1)  # the container inherits fds 1 and 2
        os.dup2(output.fileno(), 2)
        try:
            status = runtime.run(container_id, args.bundle)
        except OCIError as exc:
            status = None
            error = str(exc)
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        output.seek(0)
        sys.stdout.write(output.read().decode(errors="replace"))
    if status is None:
        print(f"oci-runtime: {error}", file=sys.stderr)
        return 1
    print(f"exit status {status}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
