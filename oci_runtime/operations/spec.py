"""`oci-runtime spec`: write a default config.json (refuses to overwrite, as runc)."""
import json
import os

from oci_runtime.errors import OCIError
from oci_runtime.spec_default import default_spec


def main(g, opts, args):
    bundle = opts["bundle"] or "."
    path = os.path.join(bundle, "config.json")
    if os.path.exists(path):
        raise OCIError("File config.json exists. Remove it first")
    if not os.path.isdir(bundle):
        raise OCIError(f"bundle {bundle} is not a directory")
    with open(path, "w") as f:
        f.write(json.dumps(default_spec(rootless=opts["rootless"]), indent="\t") + "\n")
    return 0
