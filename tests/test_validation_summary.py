"""The TAP summariser of tests/runtime_tools (no container is created)."""
import importlib.util
import pathlib

_path = pathlib.Path(__file__).parent / "runtime_tools" / "summarize.py"
_spec = importlib.util.spec_from_file_location("rt_summarize", _path)
summarize = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(summarize)

TAP = """TAP version 13
ok 1 - create MUST create a new container
  ---
  stdout: |
    not ok 7 - nested runtimetest line inside YAML is not counted
  ...
not ok 2 - delete MUST generate an error
ok 3 # SKIP linux.sysctl not set
not ok 4 - we need an (r)bind spec # TODO
1..4
"""


def test_parse_tap_counts_top_level_results_only():
    r = summarize.parse_tap(TAP)
    assert (r["pass"], r["fail"], r["skip"], r["todo"]) == (1, 1, 1, 1)
    assert r["failures"] == ["delete MUST generate an error"]


def test_program_that_died_without_results_counts_as_failure(tmp_path):
    d = tmp_path / "oci-runtime"
    d.mkdir()
    (d / "x.tap").write_text("")
    (d / "x.rc").write_text("1\n")
    (d / "x.err").write_text("failed to create the container\nexit status 1\n")
    res = summarize.summarise_dir(str(d))
    assert res["x"]["fail"] == 1 and res["x"]["rc"] == 1


HOOK_TAP = """TAP version 13
  ---
  {
    "error": "Hooks MUST be called in the listed order\\nRefer to: https://example.invalid/config.md"
  }
  ...
1..0
"""


def test_an_error_block_in_an_output_without_test_lines_is_a_failure():
    # the hook programs print their verdict only as a YAML block, with plan 1..0
    r = summarize.parse_tap(HOOK_TAP)
    assert (r["pass"], r["fail"]) == (0, 1)
    assert r["failures"] == ["Hooks MUST be called in the listed order"]


def test_error_blocks_beside_test_lines_are_their_diagnostics():
    # state's "MUST generate an error" cases pass with the runtime's error as detail
    tap = ('TAP version 13\nok 1 - x\nRefer to: https://example.invalid/runtime.md\n'
           '  ---\n  {\n    "error": "exit status 1"\n  }\n  ...\n1..1\n')
    r = summarize.parse_tap(tap)
    assert (r["pass"], r["fail"]) == (1, 0)
