"""`oci-runtime ps [--format table|json] <id> [ps options]`: the container's processes.

json prints the pids in the container's cgroup (``null`` when there are none, as
runc's Go encoder writes an empty list: scripts match it); table runs the host's `ps`
(default options -ef) and keeps its header plus the container's rows, as runc does.
"""
import subprocess
import sys

from oci_runtime import fastjson
from oci_runtime.errors import OCIError
from oci_runtime.lifecycle.query import pids as container_pids


def main(g, opts, args):
    pids = container_pids(g["root"], args[0])
    if opts["format"] == "json":
        sys.stdout.write(fastjson.go_dumps(pids or None) + "\n")
        return 0
    if opts["format"] != "table":
        raise OCIError(f"invalid format option: {opts['format']}")
    ps_args = args[1:] or ["-ef"]
    output = subprocess.run(["ps", *ps_args], capture_output=True, text=True, check=True).stdout
    lines = output.splitlines()
    header = lines[0].split()
    if "PID" not in header:
        raise OCIError("couldn't find PID field in ps output")
    column = header.index("PID")
    wanted = {str(p) for p in pids}
    sys.stdout.write(lines[0] + "\n")
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > column and fields[column] in wanted:
            sys.stdout.write(line + "\n")
    return 0
