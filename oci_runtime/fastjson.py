"""json.loads / json.dumps for the hot path, without importing the ``json`` package.

Why: ``import json`` pulls in ``re``, ``enum``, ``collections`` and ``functools``
(~6 ms per command, as much as the rest of `state` together).  The parsing and
compact encoding are done by CPython's C accelerator ``_json`` anyway; only the
pure-Python glue around it imports those modules.  This module drives ``_json``
directly and writes ``indent=`` output (for `state`) itself.

Output and errors are identical to the ``json`` package: anything outside the
common case (a parse error, an unusual encoding, a non-serializable value,
extra keyword arguments) is handed to the real ``json`` module, which then
produces the same result or raises the same exception it always would.
Drop-in: ``from oci_runtime import fastjson as json``.

It also writes JSON byte for byte as runc prints it (``go_dumps``, Go's
encoding/json), for `state`, `list --format json`, `ps --format json`, `events`
and the json log: scripts and engines match runc's output literally
(``grep '"status":"running"'``), so the separators and string escapes must be
Go's, not Python's:

- compact output has no spaces (``{"a":1,"b":[2]}``), as json.Encoder.Encode;
- indented output is MarshalIndent's (the same layout as Python's indent=);
- strings: non-ASCII text stays UTF-8; ``<``, ``>``, ``&``, U+2028 and U+2029 are
  escaped (\\u003c ...), as are control characters other than \\n, \\r, \\t
  (\\u00XX, lowercase hex, \\b and \\f included: the Go runc 1.1 is built with).

Go writes a struct's fields in declaration order and a map's keys sorted; the
callers build their dicts in that order (sorting the ones that are Go maps).
Callers add the trailing newline where runc's Encoder writes one.  (In this
module, not one of its own: `state` runs on every engine poll, and a module
costs start-up time.)
"""
import _json

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}
# Byte prefixes that json.detect_encoding() treats as something other than plain UTF-8.
_UNUSUAL_START = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


class _DecoderContext:
    """The attributes _json.make_scanner reads from a json.JSONDecoder (its defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__
    memo = {}


_scan = _json.make_scanner(_DecoderContext)
_encode_string = _json.encode_basestring_ascii


class _Unusual(Exception):
    """Raised inside this module to hand a value over to the real json module."""


def _slow():
    import json

    return json


def loads(data):
    """json.loads(data) for str or bytes (default arguments only)."""
    if isinstance(data, (bytes, bytearray)):
        if b"\x00" in data or data.startswith(_UNUSUAL_START):
            return _slow().loads(data)
        try:
            text = data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return _slow().loads(data)
    elif isinstance(data, str):
        text = data
    else:
        return _slow().loads(data)  # raises json's own TypeError
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except Exception:  # noqa: BLE001 - json.loads raises the exact error
        return _slow().loads(data)
    if text[end:].strip(_WHITESPACE):
        return _slow().loads(data)  # "Extra data"
    return value


def load(fileobj):
    return loads(fileobj.read())


def _default(value):
    raise _Unusual()


def _compact(value):
    """json.dumps() defaults: circular check (a fresh markers dict per call, as
    json's), ensure_ascii, ", " and ": ", allow_nan."""
    encoder = _json.make_encoder({}, _default, _encode_string, None, ": ", ", ", False, False, True)
    return "".join(encoder(value, 0))


def dumps(value, indent=None, **options):
    """json.dumps(value) or json.dumps(value, indent=N); other options go to json."""
    if options:
        return _slow().dumps(value, indent=indent, **options)
    try:
        if indent is None:
            return _compact(value)
        if isinstance(indent, int) and not isinstance(indent, bool):
            chunks = []
            _pretty(value, "\n", " " * indent, chunks)
            return "".join(chunks)
    except (_Unusual, RecursionError, ValueError):
        pass
    return _slow().dumps(value, indent=indent)


def _float(value):
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _scalar(value, encode_string=_encode_string):
    """The JSON text of a scalar, in json's order of type checks; _Unusual otherwise."""
    if isinstance(value, str):
        return encode_string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise _Unusual()


def _pretty(value, newline, step, out, encode_string=_encode_string):
    """json's indent= layout: "," between items, ": " after keys, "[]"/"{}" when empty
    (Go's MarshalIndent layout too: go_dumps passes its own string encoder)."""
    if isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + step
        out.append("[")
        for i, item in enumerate(value):
            out.append(inner if i == 0 else "," + inner)
            _pretty(item, inner, step, out, encode_string)
        out.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + step
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise _Unusual()  # json's key coercion: let json do it
            out.append((inner if i == 0 else "," + inner) + encode_string(key) + ": ")
            _pretty(item, inner, step, out, encode_string)
        out.append(newline + "}")
    else:
        out.append(_scalar(value, encode_string))


# ------------------------------------------------------------------ Go's bytes

_GO_ESCAPES = {c: f"\\u{c:04x}" for c in range(0x20)}
_GO_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord('"'): '\\"', ord("\\"): "\\\\",
                    ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026",
                    0x2028: "\\u2028", 0x2029: "\\u2029"})


def go_string(text):
    """A JSON string literal as Go writes it."""
    return '"' + text.translate(_GO_ESCAPES) + '"'


def _go_refuse(value):
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def go_dumps(value, indent=None):
    """``value`` as Go's encoding/json writes it: compact, or MarshalIndent with
    ``indent`` spaces (no trailing newline either way)."""
    if indent is None:
        encoder = _json.make_encoder({}, _go_refuse, go_string, None, ":", ",", False, False, True)
        return "".join(encoder(value, 0))
    chunks: list = []
    _pretty(value, "\n", " " * indent, chunks, go_string)
    return "".join(chunks)
