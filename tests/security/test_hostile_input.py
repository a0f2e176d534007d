"""Hostile input: any malformed config or command line gives a clear error, never a traceback.

Property-based (hypothesis): documents built from random JSON values, and
valid configs with one field replaced by a random value, go through the same
checks `create` runs; the only acceptable outcomes are success or a
ConfigError naming a JSON path.  The CLI parser gets random argument lists.
"""
import json
import subprocess

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import RUNTIME
from oci_runtime import config as config_mod
from oci_runtime.cli import COMMANDS, GLOBAL_FLAGS
from oci_runtime.cliparse import parse
from oci_runtime.errors import ConfigError, OCIError
from oci_runtime.spec_default import default_spec

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)


def paths_of(document, prefix=()):
    """Every (path tuple) to a value inside a JSON document."""
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from paths_of(value, prefix + (key,))
    elif isinstance(document, list):
        for i, value in enumerate(document):
            yield from paths_of(value, prefix + (i,))


SPEC = default_spec()
SPEC_PATHS = [p for p in paths_of(SPEC) if p]


def replaced(document, path, value):
    copy = json.loads(json.dumps(document))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SPEC_PATHS), json_values)
def test_one_bad_field_gives_a_config_error_naming_a_path(path, value):
    document = replaced(SPEC, path, value)
    try:
        config_mod.check(document)
    except ConfigError as exc:
        assert str(exc).startswith("invalid configuration: config.json: ")
        assert exc.json_path is not None


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_document_is_checked_without_a_crash(document):
    if not isinstance(document, dict):
        return
    try:
        config_mod.check(document)
    except ConfigError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=12) | st.sampled_from(["--root", "-b", "--bundle=", "--", "-", "--force=maybe",
                                                          "--preserve-fds", "x", "--log-format"]), max_size=8),
       st.sampled_from(sorted(COMMANDS)))
def test_cli_parser_only_raises_usage_errors(argv, command):
    for flags in (GLOBAL_FLAGS, COMMANDS[command].flags):
        try:
            parse(argv, flags, COMMANDS[command].stop_at_positional)
        except OCIError:
            pass


def test_garbage_on_the_real_command_line_is_a_clean_error(tmp_path):
    for argv in (["--root"], ["create"], ["kill", "x", "SIGNOPE"], ["--log-format", "xml", "list"],
                 ["create", "--preserve-fds", "many", "x"], ["state", "../../etc"], ["\udcff"]):
        result = subprocess.run([RUNTIME, "--root", str(tmp_path), *argv], capture_output=True, text=True,
                                errors="surrogateescape")
        assert result.returncode != 0, argv
        assert "Traceback" not in result.stderr, (argv, result.stderr)
