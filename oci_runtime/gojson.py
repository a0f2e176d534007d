"""JSON text byte for byte as runc prints it (Go's encoding/json), for `state`,
`list --format json`, `ps --format json` and `events`.

Why: scripts and engines match runc's output literally (``grep '"status":"running"'``),
so the separators and string escapes must be Go's, not Python's:

- compact output has no spaces (``{"a":1,"b":[2]}``), as json.Encoder.Encode;
- indented output is MarshalIndent's (the same layout as Python's indent=);
- strings: non-ASCII text stays UTF-8; ``<``, ``>``, ``&``, U+2028 and U+2029 are
  escaped (\\u003c ...), as are control characters other than \\n, \\r, \\t
  (\\u00XX, lowercase hex, \\b and \\f included: the Go runc 1.1 is built with).

Go writes a struct's fields in declaration order and a map's keys sorted; the
callers build their dicts in that order (sorting the ones that are Go maps).
Callers add the trailing newline where runc's Encoder writes one.
"""
import _json

from oci_runtime.fastjson import _pretty

_ESCAPES = {c: f"\\u{c:04x}" for c in range(0x20)}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord('"'): '\\"', ord("\\"): "\\\\",
                 ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                 0x2028: "\\u2028", 0x2029: "\\u2029"})


def encode_string(text):
    """A JSON string literal as Go writes it."""
    return '"' + text.translate(_ESCAPES) + '"'


def _refuse(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value, indent=None):
    """``value`` as Go's encoding/json writes it: compact, or MarshalIndent with
    ``indent`` spaces (no trailing newline either way)."""
    if indent is None:
        encoder = _json.make_encoder({}, _refuse, encode_string, None, ":", ",", False, False, True)
        return "".join(encoder(value, 0))
    chunks: list = []
    _pretty(value, "\n", " " * indent, chunks, encode_string)
    return "".join(chunks)
