"""Make the `make demo` bundle: the busybox bundle with a command that shows
what the container sees from inside its own PID and UTS namespaces.

    python bundles/demo_config.py BUSYBOX_BUNDLE DEMO_BUNDLE
"""
import json
import os
import sys

SCRIPT = (
    'echo "Hello from inside an oci-runtime container:"; '
    'echo "  my pid: $$ (PID namespace: $(readlink /proc/self/ns/pid))"; '
    'echo "  hostname: $(hostname) (UTS namespace: $(readlink /proc/self/ns/uts))"; '
    'echo "  user: $(id)"; '
    'echo "  processes I can see:"; ps -o pid,user,args'
)


def main(source, target):
    with open(os.path.join(source, "config.json")) as f:
        config = json.load(f)
    config["root"]["path"] = os.path.abspath(os.path.join(source, config["root"]["path"]))
    config["root"]["readonly"] = True
    config["process"]["args"] = ["sh", "-c", SCRIPT]
    config["hostname"] = "oci-demo"
    config["linux"]["cgroupsPath"] = "/oci-runtime-demo"
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "config.json"), "w") as f:
        json.dump(config, f, indent="\t")


if __name__ == "__main__":
    main(*sys.argv[1:3])
