"""`oci-runtime validate`: check a config.json against the full JSON schema.

This is the slow, exhaustive path (jsonschema costs ~50 ms to import), kept
off `create`, which uses the fast typed checks in oci_runtime.config.
It reports every schema violation, then runs the runtime's own checks.
"""
import json
import os
import sys

from oci_runtime import config as config_mod
from oci_runtime.errors import OCIError

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA_CANDIDATES = (
    os.path.join(_PACKAGE, "schemas", "config.schema.json"),          # installed
    os.path.join(os.path.dirname(_PACKAGE), "specs", "config.schema.json"),  # source tree
)


def main(g, opts, args):
    path = args[0] if args else os.path.join(opts["bundle"] or ".", "config.json")
    try:
        import jsonschema
    except ImportError:
        raise OCIError("validate needs the jsonschema package: pip install 'oci-runtime[validate]'") from None
    schema_path = next((p for p in SCHEMA_CANDIDATES if os.path.exists(p)), None)
    if schema_path is None:
        raise OCIError("validate: config.schema.json is not installed with oci-runtime")
    with open(schema_path) as f:
        schema = json.load(f)
    try:
        with open(path) as f:
            document = json.load(f)
    except ValueError as exc:
        raise OCIError(f"{path}: invalid JSON: {exc}") from None
    validator = jsonschema.Draft202012Validator(schema) if "2020-12" in schema.get("$schema", "") \
        else jsonschema.validators.validator_for(schema)(schema)
    problems = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    for problem in problems:
        where = ".".join(str(p) for p in problem.absolute_path) or "(top level)"
        sys.stderr.write(f"{path}: {where}: {problem.message}\n")
    if problems:
        raise OCIError(f"{path}: {len(problems)} schema violation(s)")
    config_mod.check(document)
    sys.stdout.write(f"{path}: valid\n")
    return 0
